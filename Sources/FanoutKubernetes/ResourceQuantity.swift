/// Checks a Kubernetes resource quantity (`500m`, `2`, `1.5Gi`, `128974848`, `129e6`) as the API server parses it,
/// so a typo is refused before a run stores anything.
public enum ResourceQuantity {
    private static let suffixes: Set<String> = [
        "", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei",
    ]

    /// Whether `text` is a non-negative quantity.
    public static func isValid(_ text: String) -> Bool {
        var rest = Substring(text)
        if rest.first == "+" { rest = rest.dropFirst() }
        let digits = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        guard !digits.isEmpty, digits.filter({ $0 == "." }).count <= 1, digits != "." else { return false }
        let suffix = rest.dropFirst(digits.count)
        if suffix.first == "e" || suffix.first == "E" {
            var exponent = suffix.dropFirst()
            if exponent.first == "+" || exponent.first == "-" { exponent = exponent.dropFirst() }
            return !exponent.isEmpty && exponent.allSatisfy { $0.isASCII && $0.isNumber }
        }
        return suffixes.contains(String(suffix))
    }
}

extension ResourceQuantity {
    private static let multipliers: [String: Double] = [
        "": 1, "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
        "Ki": 0x1p10, "Mi": 0x1p20, "Gi": 0x1p30, "Ti": 0x1p40, "Pi": 0x1p50, "Ei": 0x1p60,
    ]

    /// The quantity in whole units, rounded up (`512Mi`: 536870912); `nil` when it is no valid quantity.
    public static func value(_ text: String) -> Int64? {
        guard isValid(text) else { return nil }
        var rest = Substring(text)
        if rest.first == "+" { rest = rest.dropFirst() }
        let digits = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        guard let number = Double(digits) else { return nil }
        let suffix = rest.dropFirst(digits.count)
        let scaled: Double
        if suffix.first == "e" || suffix.first == "E" {
            guard let exponent = Double(suffix.dropFirst()) else { return nil }
            scaled = number * pow10(exponent)
        } else {
            scaled = number * (multipliers[String(suffix)] ?? 1)
        }
        guard scaled.isFinite, scaled < 9e18 else { return nil }
        return Int64(scaled.rounded(.up))
    }

    /// Bytes written as people write memory for Kubernetes: `512Mi`, `3Gi`, else a number of bytes.
    public static func describe(bytes: Int64) -> String {
        for (unit, size) in [("Ti", Int64(1) << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)]
        where bytes >= size && bytes % size == 0 {
            return "\(bytes / size)\(unit)"
        }
        return String(bytes)
    }

    private static func pow10(_ exponent: Double) -> Double {
        var result = 1.0
        for _ in 0..<Int(abs(exponent)) { result *= 10 }
        return exponent < 0 ? 1 / result : result
    }
}
