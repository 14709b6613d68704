import Foundation

/// Reads a POSIX shell script far enough to know, at each placeholder, how the shell would read a value put there:
/// unquoted, inside single quotes, inside double quotes or backquotes, in a here-document, or in a comment.
///
/// It does not parse the shell's grammar; it follows the quoting rules that decide where a word ends, which is all
/// that placing a value safely needs.
enum ShellScriptScanner {
    private enum Context {
        case unquoted
        case singleQuoted
        case doubleQuoted
        /// `$'...'` (bash, zsh, ksh): backslash escapes apply.
        case ansiQuoted
        case comment
    }

    /// The script as text and placeholders, each placeholder quoted for where it stands.
    /// - Throws: ``CommandTemplateError`` for a placeholder inside double quotes, backquotes or a here-document.
    static func pieces(of script: String) throws(CommandTemplateError) -> [CommandTemplate.Piece] {
        let characters = Array(script)
        var pieces: [CommandTemplate.Piece] = []
        var literal = ""
        var context = Context.unquoted
        var inBackquotes = false
        var hereDocument = false
        var index = 0

        func flush() {
            if !literal.isEmpty { pieces.append(.text(literal)) }
            literal = ""
        }

        while index < characters.count {
            let character = characters[index]
            if character == "{", context != .comment,
                let placeholder = CommandTemplate.Placeholder.allCases.first(where: {
                    characters[index...].starts(with: $0.rawValue)
                })
            {
                if context == .doubleQuoted || context == .ansiQuoted || inBackquotes || hereDocument {
                    throw refusal(script, placeholder: placeholder, context: context, inBackquotes: inBackquotes)
                }
                flush()
                pieces.append(.value(placeholder, context == .singleQuoted ? .insideSingleQuotes : .shellWord))
                index += placeholder.rawValue.count
                continue
            }
            literal.append(character)
            index += 1
            switch context {
            case .unquoted:
                switch character {
                case "\\":
                    if index < characters.count {
                        literal.append(characters[index])
                        index += 1
                    }
                case "'":
                    context = .singleQuoted
                case "\"":
                    context = .doubleQuoted
                case "`":
                    inBackquotes.toggle()
                case "$" where index < characters.count && characters[index] == "'":
                    literal.append("'")
                    index += 1
                    context = .ansiQuoted
                case "#" where index == 1 || " \t\n;&|()".contains(characters[index - 2]):
                    context = .comment
                case "<" where index < characters.count && characters[index] == "<"
                    && (index + 1 >= characters.count || characters[index + 1] != "<"):
                    hereDocument = true
                default:
                    break
                }
            case .singleQuoted:
                if character == "'" { context = .unquoted }
            case .doubleQuoted, .ansiQuoted:
                if character == "\\", index < characters.count {
                    literal.append(characters[index])
                    index += 1
                } else if character == (context == .doubleQuoted ? "\"" : "'") {
                    context = .unquoted
                } else if character == "`", context == .doubleQuoted {
                    inBackquotes.toggle()
                }
            case .comment:
                if character == "\n" { context = .unquoted }
            }
        }
        flush()
        return pieces
    }

    private static func refusal(
        _ script: String, placeholder: CommandTemplate.Placeholder, context: Context, inBackquotes: Bool
    ) -> CommandTemplateError {
        let variable = "$\(placeholder.environmentName)"
        let quoted = "\"\(placeholder.rawValue)\""
        let (place, safe): (String, String) =
            if context == .doubleQuoted && !inBackquotes && script.contains(quoted) {
                ("inside double quotes", script.replacingOccurrences(of: quoted, with: placeholder.rawValue))
            } else if context == .doubleQuoted && !inBackquotes {
                (
                    "inside double quotes",
                    script.replacingOccurrences(of: placeholder.rawValue, with: "${\(placeholder.environmentName)}")
                )
            } else if inBackquotes {
                ("inside backquotes", script.replacingOccurrences(of: placeholder.rawValue, with: "\"\(variable)\""))
            } else if context == .ansiQuoted {
                ("inside $'...'", script.replacingOccurrences(of: placeholder.rawValue, with: "\"\(variable)\""))
            } else {
                ("in a here-document", script.replacingOccurrences(of: placeholder.rawValue, with: variable))
            }
        return CommandTemplateError(message: """
            the shell script puts \(placeholder.rawValue) \(place), where a file name could run as code; write \
            it as \(safe) (an unquoted placeholder is passed as one quoted shell word, and $\(placeholder.environmentName) \
            holds the same value)
            """)
    }
}
