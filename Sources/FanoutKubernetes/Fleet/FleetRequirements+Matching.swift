/// What a machine type in a zone of a cluster lacks to serve a run, and by how much.
struct FleetMiss: Sendable, Hashable {
    /// A requirement an offer does not meet.
    enum Constraint: String, Sendable, Hashable {
        case region, zone
        case machineType = "machine type"
        case cpu, memory, accelerator, spot
        case onDemand = "on-demand"
        case capacity = "capacity 0"
    }

    var unmet: [Constraint] = []
    /// How far the offer falls short of the sizes asked for: the missing share of CPU, memory and accelerators
    /// (0.5 for half the memory asked for), summed; enough accelerators of another type fall half as short as none.
    var shortfall: Double = 0

    var isMatch: Bool { unmet.isEmpty }
}

extension FleetRequirements {
    /// What `machineType` in `zone` of `cluster` lacks to serve a run with these requirements.
    func miss(_ machineType: FleetMachineType, zone: String, cluster: FleetCluster) -> FleetMiss {
        var miss = FleetMiss()
        if let regions, !regions.contains(cluster.region) { miss.unmet.append(.region) }
        if let zones, !zones.contains(zone) { miss.unmet.append(.zone) }
        if let wanted = self.machineType, wanted != machineType.name { miss.unmet.append(.machineType) }
        if let cpu, machineType.cpu < cpu {
            miss.unmet.append(.cpu)
            miss.shortfall += (cpu - machineType.cpu) / cpu
        }
        if let memory, let wanted = ResourceQuantity.value(memory),
            let offered = ResourceQuantity.value(machineType.memory), offered < wanted
        {
            miss.unmet.append(.memory)
            miss.shortfall += Double(wanted - offered) / Double(wanted)
        }
        if acceleratorCount > 0 {
            let anyType = machineType.accelerators.values.max() ?? 0
            let offered = accelerator.map { machineType.accelerators[$0] ?? 0 } ?? anyType
            if offered < acceleratorCount {
                miss.unmet.append(.accelerator)
                let missing = Double(acceleratorCount - offered) / Double(acceleratorCount)
                // Accelerators of another type are nearer than none: they count half.
                miss.shortfall +=
                    offered == 0 && anyType > 0
                    ? 0.5 + 0.5 * Double(max(acceleratorCount - anyType, 0)) / Double(acceleratorCount) : missing
            }
        }
        if spot == true && !machineType.spot { miss.unmet.append(.spot) }
        if spot == false && !machineType.onDemand { miss.unmet.append(.onDemand) }
        if cluster.capacity <= 0 { miss.unmet.append(.capacity) }
        return miss
    }
}
