/// A set of file ordinals as a bitmap: one bit per file, so a million files take 125 KB.
struct OrdinalSet: Sendable {
    private var words: [UInt64] = []
    private(set) var count = 0

    /// Inserts `ordinal`; returns whether it was new.
    @discardableResult
    mutating func insert(_ ordinal: Int) -> Bool {
        let word = ordinal >> 6
        if word >= words.count { words.append(contentsOf: repeatElement(0, count: word - words.count + 1)) }
        let bit = UInt64(1) << UInt64(ordinal & 63)
        guard words[word] & bit == 0 else { return false }
        words[word] |= bit
        count += 1
        return true
    }

    func contains(_ ordinal: Int) -> Bool {
        let word = ordinal >> 6
        return word < words.count && words[word] & (UInt64(1) << UInt64(ordinal & 63)) != 0
    }
}
