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
