/// Writes a command's words as a POSIX shell would read them back, for messages a person can copy.
enum ShellWords {
    private static let plain = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%{}")

    /// `words` joined by spaces, each single-quoted unless it is made of characters no shell treats specially.
    static func join(_ words: [String]) -> String {
        words.map(quote).joined(separator: " ")
    }

    static func quote(_ word: String) -> String {
        if !word.isEmpty && word.allSatisfy({ plain.contains($0) }) && word != "{" { return word }
        return "'" + word.split(separator: "'", omittingEmptySubsequences: false).joined(separator: #"'\''"#) + "'"
    }
}
