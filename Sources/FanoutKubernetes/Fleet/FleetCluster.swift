/// A Kubernetes cluster of a fleet: how to reach it, where it is, what its zones offer, and how much of it Fanout
/// may use.
public struct FleetCluster: Sendable, Hashable, Codable {
    /// A name unique in the fleet, used in messages and to label the run's Jobs.
    public var name: String
    /// The kubeconfig context. Default `nil`: the current context, else the in-cluster service account.
    public var context: String?
    /// The kubeconfig files, as kubectl's `--kubeconfig`. Default `nil`: `KUBECONFIG`'s, else `~/.kube/config`.
    public var kubeconfig: [String]?
    /// The namespace of the run's Jobs. Default `nil`: the context's, else `default`.
    public var namespace: String?
    /// The cloud region (`eu-west-1`), which requirements may restrict.
    public var region: String
    /// The zones and the machine types each offers; at least one.
    public var zones: [FleetZone]
    /// Pods Fanout may run on this cluster at once; 0 keeps the cluster out of runs.
    public var capacity: Int
    /// Preference: shards are shared in proportion to capacity × weight, so higher is preferred. Above 0;
    /// default 1.
    public var weight: Double
    /// The node label that marks spot nodes (`["cloud.google.com/gke-spot": "true"]`,
    /// `["eks.amazonaws.com/capacityType": "SPOT"]`): one key and value. Required when a machine type is offered
    /// as spot. Default `nil`.
    public var spotNodeLabel: [String: String]?
    /// Labels added to the run's pods on this cluster. Default none.
    public var labels: [String: String]
    /// Taints the run's pods tolerate on this cluster (a spot pool's taint). Default none.
    public var tolerations: [Toleration]

    public init(
        _ name: String, context: String? = nil, kubeconfig: [String]? = nil, namespace: String? = nil,
        region: String, zones: [FleetZone], capacity: Int, weight: Double = 1,
        spotNodeLabel: [String: String]? = nil, labels: [String: String] = [:], tolerations: [Toleration] = []
    ) {
        self.name = name
        self.context = context
        self.kubeconfig = kubeconfig
        self.namespace = namespace
        self.region = region
        self.zones = zones
        self.capacity = capacity
        self.weight = weight
        self.spotNodeLabel = spotNodeLabel
        self.labels = labels
        self.tolerations = tolerations
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, context, kubeconfig, namespace, region, zones, capacity, weight, spotNodeLabel, labels,
            tolerations
    }

    public init(from decoder: any Decoder) throws {
        try decoder.refuseUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        context = try container.decodeIfPresent(String.self, forKey: .context)
        kubeconfig = try container.decodeIfPresent([String].self, forKey: .kubeconfig)
        namespace = try container.decodeIfPresent(String.self, forKey: .namespace)
        region = try container.decode(String.self, forKey: .region)
        zones = try container.decode([FleetZone].self, forKey: .zones)
        capacity = try container.decode(Int.self, forKey: .capacity)
        weight = try container.decodeIfPresent(Double.self, forKey: .weight) ?? 1
        spotNodeLabel = try container.decodeIfPresent([String: String].self, forKey: .spotNodeLabel)
        labels = try container.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        tolerations =
            try container.decodeIfPresent([StrictToleration].self, forKey: .tolerations)?.map(\.toleration) ?? []
    }
}

/// A toleration read from a fleet file, refusing keys a toleration does not have.
private struct StrictToleration: Decodable {
    var toleration: Toleration

    enum CodingKeys: String, CodingKey, CaseIterable {
        case key, `operator`, value, effect, tolerationSeconds
    }

    init(from decoder: any Decoder) throws {
        try decoder.refuseUnknownKeys(CodingKeys.self)
        toleration = try Toleration(from: decoder)
    }
}
