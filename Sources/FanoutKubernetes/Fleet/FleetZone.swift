/// A zone of a cluster and the machine types its nodes can be.
public struct FleetZone: Sendable, Hashable, Codable {
    /// The nodes' `topology.kubernetes.io/zone` label (`eu-west-1a`, `us-central1-b`).
    public var name: String
    /// The machine types offered in this zone; at least one.
    public var machineTypes: [FleetMachineType]

    public init(_ name: String, machineTypes: [FleetMachineType]) {
        self.name = name
        self.machineTypes = machineTypes
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, machineTypes
    }

    public init(from decoder: any Decoder) throws {
        try decoder.refuseUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        machineTypes = try container.decode([FleetMachineType].self, forKey: .machineTypes)
    }
}
