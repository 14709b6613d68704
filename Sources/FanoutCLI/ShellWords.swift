import Foundation

/// Writes a command's words as a POSIX shell would read them back, for messages a person can copy.
enum ShellWords {
    private static let plain = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:+@%")

    /// Braces a shell never expands: Fanout's placeholders, shown as users type them.
    private static let placeholders = ["{}", "{key}", "{name}", "{url}", "{size}", "{.}", "{/}", "{//}", "{/.}"]

    /// `words` joined by spaces, each single-quoted unless it is made of characters no shell treats specially.
    static func join(_ words: [String]) -> String {
        words.map(quote).joined(separator: " ")
    }

    /// ``join(_:)`` on one line: a word holding a control character (a tab, a newline) is written in bash's `$'...'`
    /// form with escapes, so a line-based reader (a job log) sees one command per line.
    static func joinOnOneLine(_ words: [String]) -> String {
        words.map { word in
            guard word.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return quote(word) }
            var quoted = "$'"
            for scalar in word.unicodeScalars {
                switch scalar {
                case "\\": quoted += "\\\\"
                case "'": quoted += "\\'"
                case "\n": quoted += "\\n"
                case "\t": quoted += "\\t"
                case "\r": quoted += "\\r"
                case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                    quoted += String(format: "\\x%02x", scalar.value)
                default: quoted.unicodeScalars.append(scalar)
                }
            }
            return quoted + "'"
        }.joined(separator: " ")
    }

    /// `word` as is when no shell would change it, else single-quoted. Braces other than whole placeholders
    /// (`{a,b}`, `{1..3}`) are quoted, since bash would expand them.
    static func quote(_ word: String) -> String {
        var rest = word
        for placeholder in placeholders { rest = rest.replacingOccurrences(of: placeholder, with: "") }
        if !word.isEmpty && rest.allSatisfy({ plain.contains($0) }) { return word }
        return "'" + word.split(separator: "'", omittingEmptySubsequences: false).joined(separator: #"'\''"#) + "'"
    }
}
