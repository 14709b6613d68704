/// The clusters a team runs on, declared in code (or in a file, ``load(contentsOf:)``): where each is, what
/// machine types and accelerators its zones offer, spot or on demand, and how much of it Fanout may use.
///
/// ``placements(for:)`` finds the clusters that can serve a run's ``FleetRequirements``, with the node selector or
/// affinity their pods need; ``apportion(_:over:)`` shares a run's shards among them.
///
/// ```swift
/// let fleet = Fleet(clusters: [
///     FleetCluster(
///         "gke-us", context: "gke_acme_us-central1_batch", namespace: "fanout", region: "us-central1",
///         zones: [
///             FleetZone("us-central1-a", machineTypes: [
///                 FleetMachineType("n2-standard-8", cpu: 8, memory: "32Gi", spot: true),
///                 FleetMachineType("g2-standard-8", cpu: 8, memory: "32Gi", accelerators: ["nvidia-l4": 1]),
///             ]),
///         ],
///         capacity: 200, spotNodeLabel: ["cloud.google.com/gke-spot": "true"]),
///     FleetCluster(
///         "eks-eu", context: "eks-eu", region: "eu-west-1",
///         zones: [
///             FleetZone("eu-west-1a", machineTypes: [FleetMachineType("m6i.2xlarge", cpu: 8, memory: "32Gi")]),
///             FleetZone("eu-west-1b", machineTypes: [FleetMachineType("m6i.2xlarge", cpu: 8, memory: "32Gi")]),
///         ],
///         capacity: 100, weight: 0.5),
/// ])
/// let gpus = try fleet.placements(for: FleetRequirements(accelerator: "nvidia-l4"))  // gke-us, us-central1-a
/// ```
public struct Fleet: Sendable, Hashable, Codable {
    /// The clusters, in order of declaration; names are unique.
    public var clusters: [FleetCluster]

    public init(clusters: [FleetCluster]) {
        self.clusters = clusters
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case clusters
    }

    public init(from decoder: any Decoder) throws {
        try decoder.refuseUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        clusters = try container.decode([FleetCluster].self, forKey: .clusters)
    }
}
