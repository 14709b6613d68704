extension Fleet {
    /// Every cluster that can serve a run with these requirements, in the fleet's order, each with the zones and
    /// machine types there that meet them and the node selection its pods need.
    ///
    /// A cluster serves a run when its capacity is above 0 and one of its machine types, in a zone allowed, meets
    /// every requirement: region, zone, machine type, at least the CPU, memory and accelerators asked for, and
    /// spot or on demand as asked.
    /// - Throws: ``FleetError`` with code ``FleetError/Code/invalidFleet`` or
    ///   ``FleetError/Code/invalidRequirements`` when either breaks a rule, and ``FleetError/Code/noMatch`` when no
    ///   cluster can serve the run; its message names the nearest offers: those that miss the fewest
    ///   requirements, then by the least shortfall in CPU, memory and accelerators.
    public func placements(for requirements: FleetRequirements) throws -> [FleetPlacement] {
        try validate()
        try requirements.validate()
        var placements: [FleetPlacement] = []
        for cluster in clusters {
            let offers = cluster.zones.flatMap { zone in
                zone.machineTypes.filter { requirements.miss($0, zone: zone.name, cluster: cluster).isMatch }
                    .map { FleetPlacement.Offer(zone: zone.name, machineType: $0) }
            }
            if !offers.isEmpty {
                placements.append(FleetPlacement(cluster: cluster, offers: offers, spot: requirements.spot))
            }
        }
        guard !placements.isEmpty else { throw noMatch(for: requirements) }
        return placements
    }

    /// How many offers a no-match error names, at most one per cluster.
    static let nearestNamed = 3

    /// The error for requirements no cluster meets, naming the nearest offer of up to ``nearestNamed`` clusters.
    func noMatch(for requirements: FleetRequirements) -> FleetError {
        struct Near {
            var cluster: FleetCluster
            var zone: String
            var machineType: FleetMachineType
            var miss: FleetMiss
            var order: Int
        }
        var nearest: [Near] = []
        var order = 0
        for cluster in clusters {
            var best: Near?
            for zone in cluster.zones {
                for machineType in zone.machineTypes {
                    let near = Near(
                        cluster: cluster, zone: zone.name, machineType: machineType,
                        miss: requirements.miss(machineType, zone: zone.name, cluster: cluster), order: order)
                    order += 1
                    if best.map({ Self.isNearer(near.miss, than: $0.miss) }) ?? true { best = near }
                }
            }
            if let best { nearest.append(best) }
        }
        nearest.sort { a, b in
            Self.isNearer(a.miss, than: b.miss) || (!Self.isNearer(b.miss, than: a.miss) && a.order < b.order)
        }
        let named = nearest.prefix(Self.nearestNamed).map { near in
            "\(near.cluster.name) (\(near.zone): \(near.machineType.summary); unmet: "
                + near.miss.unmet.map(\.rawValue).joined(separator: ", ") + ")"
        }
        var message = "no cluster offers \(requirements.summary)"
        if !named.isEmpty { message += "; nearest: " + named.joined(separator: "; ") }
        return FleetError(
            code: .noMatch, message: message,
            hint: "Relax the run's requirements, or declare a cluster that offers them in the fleet")
    }

    /// Whether `a` misses fewer requirements than `b`, or as many by a smaller shortfall.
    private static func isNearer(_ a: FleetMiss, than b: FleetMiss) -> Bool {
        (a.unmet.count, a.shortfall) < (b.unmet.count, b.shortfall)
    }
}
