extension FleetPlacement {
    /// The placement of a run on `cluster`'s matching `offers` (not empty), with the node selection they need.
    init(cluster: FleetCluster, offers: [Offer], spot: Bool?) {
        var nodeSelector: [String: String] = [:]
        var spotExpression: JSONValue?
        if let (key, value) = cluster.spotNodeLabel?.min(by: { $0.key < $1.key }) {
            if spot == true {
                nodeSelector[key] = value
            } else if spot == false, offers.contains(where: \.machineType.spot) {
                spotExpression = Self.expression(key, "NotIn", [value])
            }
        }
        let terms = Self.terms(offers)
        if spotExpression == nil, terms.count == 1, let term = terms.first, term.zones.count == 1,
            term.types.count == 1
        {
            nodeSelector[Self.zoneLabel] = term.zones[0]
            nodeSelector[Self.machineTypeLabel] = term.types[0]
            self.init(cluster: cluster, offers: offers, nodeSelector: nodeSelector, affinity: nil)
            return
        }
        let selectorTerms: [JSONValue] = terms.map { term in
            let expressions =
                [
                    Self.expression(Self.zoneLabel, "In", term.zones),
                    Self.expression(Self.machineTypeLabel, "In", term.types),
                ]
                + (spotExpression.map { [$0] } ?? [])
            return ["matchExpressions": .array(expressions)]
        }
        let affinity: JSONValue = [
            "nodeAffinity": [
                "requiredDuringSchedulingIgnoredDuringExecution": ["nodeSelectorTerms": .array(selectorTerms)]
            ]
        ]
        self.init(cluster: cluster, offers: offers, nodeSelector: nodeSelector, affinity: affinity)
    }

    /// The offers as node selector terms (which Kubernetes ORs): zones that offer the same machine types share a
    /// term, so the terms allow exactly the matching pairs.
    static func terms(_ offers: [Offer]) -> [(zones: [String], types: [String])] {
        var typesByZone: [(zone: String, types: [String])] = []
        for offer in offers {
            if let index = typesByZone.firstIndex(where: { $0.zone == offer.zone }) {
                if !typesByZone[index].types.contains(offer.machineType.name) {
                    typesByZone[index].types.append(offer.machineType.name)
                }
            } else {
                typesByZone.append((offer.zone, [offer.machineType.name]))
            }
        }
        var terms: [(zones: [String], types: [String])] = []
        for (zone, types) in typesByZone {
            let sorted = types.sorted()
            if let index = terms.firstIndex(where: { $0.types == sorted }) {
                terms[index].zones.append(zone)
            } else {
                terms.append(([zone], sorted))
            }
        }
        return terms.map { ($0.zones.sorted(), $0.types) }
    }

    private static func expression(_ key: String, _ op: String, _ values: [String]) -> JSONValue {
        ["key": .string(key), "operator": .string(op), "values": .array(values.map { .string($0) })]
    }
}
