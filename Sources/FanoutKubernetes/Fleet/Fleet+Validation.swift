extension Fleet {
    /// Checks the fleet's rules: unique cluster names, a region, a capacity of 0 or more, a weight above 0, zones
    /// that each offer machine types with a CPU above 0, a valid memory quantity and spot or on-demand capacity,
    /// and a ``FleetCluster/spotNodeLabel`` wherever spot is offered.
    /// - Throws: ``FleetError`` with code ``FleetError/Code/invalidFleet``, naming every problem and what to do.
    public func validate() throws {
        var problems: [String] = []
        if clusters.isEmpty { problems.append("the fleet has no clusters: declare at least one") }
        var seen: [String: Int] = [:]
        for (index, cluster) in clusters.enumerated() {
            if let first = seen[cluster.name] {
                problems.append(
                    "clusters[\(first)] and clusters[\(index)] are both named '\(cluster.name)': "
                        + "give each cluster its own name"
                )
            } else {
                seen[cluster.name] = index
            }
            problems += cluster.problems(
                label: cluster.name.isEmpty ? "clusters[\(index)]" : "cluster '\(cluster.name)'")
        }
        guard problems.isEmpty else {
            throw FleetError(code: .invalidFleet, message: "invalid fleet: " + problems.joined(separator: "; "))
        }
    }
}

extension FleetCluster {
    /// What breaks the fleet's rules in this cluster, each saying what to do.
    func problems(label: String) -> [String] {
        var problems: [String] = []
        if name.isEmpty { problems.append("\(label) has no name: name it") }
        if region.isEmpty { problems.append("\(label) has no region: set its cloud region (eu-west-1)") }
        if capacity < 0 {
            problems.append(
                "\(label): capacity \(capacity) is negative: set how many pods Fanout may run there at once "
                    + "(0 keeps it out of runs)"
            )
        }
        if !(weight > 0 && weight.isFinite) {
            problems.append("\(label): weight \(fleetNumber(weight)) must be above 0 (default 1; higher is preferred)")
        }
        if let spotNodeLabel, spotNodeLabel.count != 1 {
            problems.append(
                "\(label): spotNodeLabel must be one label, as [\"cloud.google.com/gke-spot\": \"true\"]; "
                    + "it has \(spotNodeLabel.count)"
            )
        }
        if zones.isEmpty { problems.append("\(label) has no zones: list its zones and the machine types each offers") }
        var zoneNames: Set<String> = []
        for zone in zones {
            let zoneLabel = "\(label), zone '\(zone.name)'"
            if !zoneNames.insert(zone.name).inserted {
                problems.append(
                    "\(label) lists zone '\(zone.name)' twice: list each zone once with all its machine types")
            }
            if zone.machineTypes.isEmpty {
                problems.append("\(zoneLabel) offers no machine types: list them (name, cpu, memory)")
            }
            var typeNames: Set<String> = []
            for type in zone.machineTypes {
                if !typeNames.insert(type.name).inserted {
                    problems.append("\(zoneLabel) lists machine type '\(type.name)' twice: list it once")
                }
                problems += type.problems(label: "\(zoneLabel), machine type '\(type.name)'")
                if type.spot && spotNodeLabel == nil {
                    problems.append(
                        "\(zoneLabel), machine type '\(type.name)' is offered as spot but \(label) has no spotNodeLabel: "
                            + "name the label of its spot nodes (cloud.google.com/gke-spot: \"true\", "
                            + "eks.amazonaws.com/capacityType: SPOT)")
                }
            }
        }
        return problems
    }
}

extension FleetMachineType {
    /// What breaks the fleet's rules in this machine type, each saying what to do.
    func problems(label: String) -> [String] {
        var problems: [String] = []
        if name.isEmpty { problems.append("\(label) has no name: give its instance type (m6i.2xlarge)") }
        if !(cpu > 0 && cpu.isFinite) {
            problems.append("\(label): cpu \(fleetNumber(cpu)) must be a number of cores above 0")
        }
        if ResourceQuantity.value(memory) == nil {
            problems.append(
                "\(label): memory '\(memory)' is no Kubernetes quantity: write it as 32Gi or a number of bytes")
        }
        for (accelerator, count) in accelerators.sorted(by: { $0.key < $1.key }) where count <= 0 {
            problems.append(
                "\(label): accelerator '\(accelerator)' has count \(count): give 1 or more, or leave it out")
        }
        if !spot && !onDemand {
            problems.append("\(label) is offered neither as spot nor on demand: set spot or onDemand to true")
        }
        return problems
    }
}
