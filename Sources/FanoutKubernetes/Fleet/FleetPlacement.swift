/// A cluster that can serve a run: the zones and machine types there that meet its requirements, and the node
/// selector or node affinity that keeps its pods on them.
public struct FleetPlacement: Sendable, Hashable {
    /// A machine type in a zone.
    public struct Offer: Sendable, Hashable {
        public var zone: String
        public var machineType: FleetMachineType

        public init(zone: String, machineType: FleetMachineType) {
            self.zone = zone
            self.machineType = machineType
        }
    }

    /// The well-known node label of a node's zone.
    public static let zoneLabel = "topology.kubernetes.io/zone"
    /// The well-known node label of a node's machine type.
    public static let machineTypeLabel = "node.kubernetes.io/instance-type"

    public var cluster: FleetCluster
    /// The matching (zone, machine type) pairs, in the fleet's order.
    public var offers: [Offer]
    /// Labels a node must have: the zone and machine type when only one pair matches, and the cluster's
    /// ``FleetCluster/spotNodeLabel`` when the run must be spot.
    public var nodeSelector: [String: String]
    /// A required node affinity (`In` over the matching zones and machine types, `NotIn` the spot label for an
    /// on-demand run) when one node selector cannot say it; else `nil`.
    public var affinity: JSONValue?

    public init(cluster: FleetCluster, offers: [Offer], nodeSelector: [String: String], affinity: JSONValue?) {
        self.cluster = cluster
        self.offers = offers
        self.nodeSelector = nodeSelector
        self.affinity = affinity
    }

    /// Where the pods may run on this cluster: ``nodeSelector``, ``affinity`` and the cluster's tolerations.
    public var scheduling: KubernetesBackend.Options.Scheduling {
        .init(nodeSelector: nodeSelector, tolerations: cluster.tolerations, affinity: affinity)
    }
}
