/// What a run needs from a machine, and where it may run; `nil` means anything goes.
///
/// CPU, memory and accelerator counts are minima per machine: a machine type matches when it has at least as much.
public struct FleetRequirements: Sendable, Hashable, Codable {
    /// CPU cores per pod. Default `nil`.
    public var cpu: Double?
    /// Memory per pod, as a Kubernetes quantity (`16Gi`). Default `nil`.
    public var memory: String?
    /// The accelerator type (`nvidia-l4`), as the fleet names it. Default `nil`.
    public var accelerator: String?
    /// Accelerators per machine: of type ``accelerator`` when set, else of any one type. Default 1 when
    /// ``accelerator`` is set, else 0 (none needed).
    public var acceleratorCount: Int
    /// The machine type, exactly. Default `nil`.
    public var machineType: String?
    /// `true`: spot machines only; `false`: on-demand only; `nil` (the default): either.
    public var spot: Bool?
    /// The regions allowed. Default `nil`: all.
    public var regions: [String]?
    /// The zones allowed. Default `nil`: all.
    public var zones: [String]?

    public init(
        cpu: Double? = nil, memory: String? = nil, accelerator: String? = nil, acceleratorCount: Int? = nil,
        machineType: String? = nil, spot: Bool? = nil, regions: [String]? = nil, zones: [String]? = nil
    ) {
        self.cpu = cpu
        self.memory = memory
        self.accelerator = accelerator
        self.acceleratorCount = acceleratorCount ?? (accelerator == nil ? 0 : 1)
        self.machineType = machineType
        self.spot = spot
        self.regions = regions
        self.zones = zones
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case cpu, memory, accelerator, acceleratorCount, machineType, spot, regions, zones
    }

    public init(from decoder: any Decoder) throws {
        try decoder.refuseUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            cpu: try container.decodeIfPresent(Double.self, forKey: .cpu),
            memory: try container.decodeIfPresent(String.self, forKey: .memory),
            accelerator: try container.decodeIfPresent(String.self, forKey: .accelerator),
            acceleratorCount: try container.decodeIfPresent(Int.self, forKey: .acceleratorCount),
            machineType: try container.decodeIfPresent(String.self, forKey: .machineType),
            spot: try container.decodeIfPresent(Bool.self, forKey: .spot),
            regions: try container.decodeIfPresent([String].self, forKey: .regions),
            zones: try container.decodeIfPresent([String].self, forKey: .zones))
    }
}

extension FleetRequirements {
    /// Throws ``FleetError/Code/invalidRequirements`` when no machine could meet these requirements.
    public func validate() throws {
        var problems: [String] = []
        if let cpu, !(cpu > 0 && cpu.isFinite) {
            problems.append("cpu \(fleetNumber(cpu)) must be a number of cores above 0")
        }
        if let memory, ResourceQuantity.value(memory) == nil {
            problems.append(
                "memory '\(memory)' is no Kubernetes quantity: write it as 16Gi, 512Mi or a number of bytes")
        }
        if acceleratorCount < 0 { problems.append("acceleratorCount \(acceleratorCount) must be 0 or more") }
        if accelerator != nil && acceleratorCount == 0 {
            problems.append("accelerator '\(accelerator ?? "")' with acceleratorCount 0: ask for 1 or more")
        }
        if regions?.isEmpty == true { problems.append("regions is empty: leave it out to allow every region") }
        if zones?.isEmpty == true { problems.append("zones is empty: leave it out to allow every zone") }
        guard problems.isEmpty else {
            throw FleetError(
                code: .invalidRequirements, message: "invalid requirements: " + problems.joined(separator: "; "))
        }
    }
}
