/// A machine type a zone offers: its size, its accelerators, and whether it comes as spot, on demand, or both.
public struct FleetMachineType: Sendable, Hashable, Codable {
    /// The node's `node.kubernetes.io/instance-type` label (`m6i.2xlarge`, `n2-standard-8`).
    public var name: String
    /// CPU cores a pod can have on it.
    public var cpu: Double
    /// Memory a pod can have on it, as a Kubernetes quantity (`32Gi`).
    public var memory: String
    /// Accelerators per machine: type to count (`["nvidia-l4": 1]`). Default none.
    public var accelerators: [String: Int]
    /// Whether it is offered as spot (preemptible) capacity. Default `false`.
    public var spot: Bool
    /// Whether it is offered on demand. Default `true`.
    public var onDemand: Bool

    public init(
        _ name: String, cpu: Double, memory: String, accelerators: [String: Int] = [:], spot: Bool = false,
        onDemand: Bool = true
    ) {
        self.name = name
        self.cpu = cpu
        self.memory = memory
        self.accelerators = accelerators
        self.spot = spot
        self.onDemand = onDemand
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, cpu, memory, accelerators, spot, onDemand
    }

    public init(from decoder: any Decoder) throws {
        try decoder.refuseUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        cpu = try container.decode(Double.self, forKey: .cpu)
        memory = try container.decode(String.self, forKey: .memory)
        accelerators = try container.decodeIfPresent([String: Int].self, forKey: .accelerators) ?? [:]
        spot = try container.decodeIfPresent(Bool.self, forKey: .spot) ?? false
        onDemand = try container.decodeIfPresent(Bool.self, forKey: .onDemand) ?? true
    }
}
