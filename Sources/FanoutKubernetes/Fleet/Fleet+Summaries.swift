extension FleetRequirements {
    /// The requirements as a phrase: `nvidia-h100 ×8 spot in eu-west-1`.
    public var summary: String {
        var sizes: [String] = []
        if let machineType { sizes.append(machineType) }
        if let cpu { sizes.append("\(fleetNumber(cpu)) CPU") }
        if let memory { sizes.append("\(memory) memory") }
        if acceleratorCount > 0 {
            sizes.append(accelerator.map { "\($0) ×\(acceleratorCount)" } ?? "\(acceleratorCount) accelerators")
        }
        var text = sizes.isEmpty ? "any machine" : sizes.joined(separator: ", ")
        if let spot { text += spot ? " spot" : " on demand" }
        if let regions { text += " in " + regions.joined(separator: " or ") }
        if let zones { text += " in zone " + zones.joined(separator: " or ") }
        return text
    }
}

extension FleetMachineType {
    /// The offer as a phrase: `p4d.24xlarge, 96 CPU, 1152Gi, nvidia-a100 ×8, spot or on-demand`.
    public var summary: String {
        var parts = [name, "\(fleetNumber(cpu)) CPU", memory]
        parts += accelerators.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }
        parts.append(spot ? (onDemand ? "spot or on-demand" : "spot only") : "on-demand only")
        return parts.joined(separator: ", ")
    }
}

/// A number without a needless fraction: `8`, `0.5`, `-2`.
func fleetNumber(_ number: Double) -> String {
    number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
}
