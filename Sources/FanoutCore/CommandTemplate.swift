import Foundation

/// A command's arguments with their placeholders found once, so that each file's values are put in a single pass and
/// no value is ever read as a placeholder, an option or shell code.
///
/// The rules, in the order they apply to an argument:
/// - A placeholder that is the whole argument is replaced by the value, verbatim; `{}` is always an absolute path,
///   so a key that starts with `-` never becomes an option.
/// - In the script of a shell (`sh`, `bash`, `dash`, `zsh`, `ksh`, `mksh`, `ash` with `-c`), a placeholder becomes one
///   single-quoted shell word, so `sh -c 'wc -l < {}'` is safe whatever the file is called. A placeholder inside
///   double quotes, backquotes or a here-document of such a script is refused, with the safe form in the message.
///   Placeholders in a comment are left as they are.
/// - Anywhere else an embedded placeholder is replaced as it is: no shell sees it, so `cp {} out/{name}.bak`
///   gets no quote characters. Programs that read an argument as code (`python -c`, `awk`, `jq`) should get the
///   file as a whole argument or from the environment (``CommandTemplate/Placeholder/environmentName``).
struct CommandTemplate: Sendable, Hashable {
    /// The values a file gives its command.
    enum Placeholder: String, Sendable, CaseIterable {
        case path = "{}"
        case key = "{key}"
        case name = "{name}"
        case url = "{url}"
        case size = "{size}"
        /// The key without its extension (GNU parallel's `{.}`).
        case keyWithoutExtension = "{.}"
        /// The key's last path component (GNU parallel's `{/}`): the same as `{name}`.
        case basename = "{/}"
        /// The key's folder, `.` for a key at the top (GNU parallel's `{//}`).
        case dirname = "{//}"
        /// The key's last path component without its extension (GNU parallel's `{/.}`).
        case stem = "{/.}"

        /// The environment variable that holds the same value for the command.
        var environmentName: String {
            switch self {
            case .path: "FANOUT_FILE"
            case .key: "FANOUT_KEY"
            case .name: "FANOUT_NAME"
            case .url: "FANOUT_URL"
            case .size: "FANOUT_SIZE"
            case .keyWithoutExtension: "FANOUT_KEY_NOEXT"
            case .basename: "FANOUT_BASENAME"
            case .dirname: "FANOUT_DIRNAME"
            case .stem: "FANOUT_STEM"
            }
        }

        /// The value that the placeholders derived from the key take for `key`; `nil` for the others.
        ///
        /// As GNU parallel derives them from an input line: the extension is what follows the last `.` of the last
        /// path component, unless that `.` starts it (`.bashrc` has none); the folder of a key without `/` is `.`.
        func derived(fromKey key: String) -> String? {
            let slash = key.lastIndex(of: "/")
            let name = slash.map { String(key[key.index(after: $0)...]) } ?? key
            func withoutExtension(_ text: String, nameLength: Int) -> String {
                guard let dot = text.lastIndex(of: "."), text.distance(from: dot, to: text.endIndex) < nameLength
                else { return text }
                return String(text[..<dot])
            }
            switch self {
            case .keyWithoutExtension: return withoutExtension(key, nameLength: name.count)
            case .basename: return name
            case .dirname: return slash.map { String(key[..<$0]) } ?? "."
            case .stem: return withoutExtension(name, nameLength: name.count)
            case .path, .key, .name, .url, .size: return nil
            }
        }
    }

    /// How a placeholder's value is written into its argument.
    enum Quoting: Sendable, Hashable {
        /// As it is.
        case verbatim
        /// As one single-quoted shell word.
        case shellWord
        /// Inside a single-quoted shell string that is already open: only its quotes are escaped.
        case insideSingleQuotes
    }

    enum Piece: Sendable, Hashable {
        case text(String)
        case value(Placeholder, Quoting)
    }

    /// Each argument (the program first) as text and placeholders.
    let arguments: [[Piece]]

    /// The placeholders used anywhere in the command.
    let placeholders: Set<Placeholder>

    /// - Throws: ``CommandTemplateError`` when a shell script puts a placeholder where quoting cannot make it safe.
    init(_ command: [String]) throws(CommandTemplateError) {
        let scriptIndex = Self.shellScriptIndex(command)
        var arguments: [[Piece]] = []
        for (index, argument) in command.enumerated() {
            if index == scriptIndex {
                arguments.append(try ShellScriptScanner.pieces(of: argument))
            } else {
                arguments.append(Self.pieces(of: argument, quoting: .verbatim))
            }
        }
        self.arguments = arguments
        var used: Set<Placeholder> = []
        for pieces in arguments {
            for case .value(let placeholder, _) in pieces { used.insert(placeholder) }
        }
        placeholders = used
        mentioned = Set(Placeholder.allCases.filter { placeholder in
            command.contains { $0.contains(placeholder.environmentName) }
        })
    }

    /// Whether the command needs `placeholder`'s value: it names the placeholder, or its environment variable.
    func uses(_ placeholder: Placeholder) -> Bool { placeholders.contains(placeholder) || mentioned.contains(placeholder) }

    /// The placeholders whose environment variable the command's text names.
    private let mentioned: Set<Placeholder>

    /// Whether `argument` names any placeholder.
    static func containsPlaceholder(_ argument: String) -> Bool {
        pieces(of: argument, quoting: .verbatim).contains { if case .value = $0 { true } else { false } }
    }

    /// The arguments for one file, program first.
    func render(_ value: (Placeholder) -> String) -> [String] {
        arguments.map { pieces in
            var argument = ""
            for piece in pieces {
                switch piece {
                case .text(let text):
                    argument += text
                case .value(let placeholder, let quoting):
                    argument += Self.quote(value(placeholder), quoting)
                }
            }
            return argument
        }
    }

    static func quote(_ value: String, _ quoting: Quoting) -> String {
        switch quoting {
        case .verbatim: value
        case .shellWord: "'" + value.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
        case .insideSingleQuotes: value.replacingOccurrences(of: "'", with: #"'\''"#)
        }
    }

    /// Splits text into literal runs and placeholders, scanning once from the left.
    static func pieces(of text: String, quoting: Quoting) -> [Piece] {
        var pieces: [Piece] = []
        var literal = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            literal += rest[..<open]
            let candidate = rest[open...]
            if let placeholder = Placeholder.allCases.first(where: { candidate.hasPrefix($0.rawValue) }) {
                if !literal.isEmpty { pieces.append(.text(literal)) }
                literal = ""
                pieces.append(.value(placeholder, quoting))
                rest = candidate.dropFirst(placeholder.rawValue.count)
            } else {
                literal.append("{")
                rest = candidate.dropFirst()
            }
        }
        literal += rest
        if !literal.isEmpty { pieces.append(.text(literal)) }
        return pieces
    }

    /// The shells whose `-c` script is parsed as shell code.
    static let shells: Set<String> = ["sh", "bash", "dash", "zsh", "ksh", "mksh", "ash"]

    /// The index of the script argument when the command is a shell given `-c`, else `nil`.
    static func shellScriptIndex(_ command: [String]) -> Int? {
        guard let program = command.first,
            shells.contains(String(program.split(separator: "/").last ?? Substring(program)))
        else { return nil }
        var sawScriptFlag = false
        var index = 1
        while index < command.count {
            let argument = command[index]
            if argument == "--" || argument == "-" {
                return sawScriptFlag && index + 1 < command.count ? index + 1 : nil
            }
            guard argument.hasPrefix("-") || argument.hasPrefix("+") else {
                return sawScriptFlag ? index : nil
            }
            let letters = argument.dropFirst()
            if letters.contains("c") { sawScriptFlag = true }
            // `-o NAME` and `-O NAME` take the next argument.
            if letters.last == "o" || letters.last == "O" { index += 1 }
            index += 1
        }
        return nil
    }
}

/// A command whose shell script puts a placeholder where no quoting makes it safe.
public struct CommandTemplateError: Error, Sendable, CustomStringConvertible {
    /// What is wrong and the safe way to write it.
    public let message: String
    public var description: String { message }
}
