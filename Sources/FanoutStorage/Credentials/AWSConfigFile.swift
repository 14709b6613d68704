import Foundation

/// The sections of an AWS shared config or credentials file (`~/.aws/config`, `~/.aws/credentials`).
///
/// The format is the INI dialect the AWS CLI reads:
/// - `[title]` starts a section; runs of spaces inside the title collapse, so `[profile  dev]` is `profile dev`.
/// - `key = value` sets a property; keys are case-insensitive (stored lowercased), values are trimmed.
/// - Lines starting with `#` or `;` are comments, and so is the rest of a line after ` #` or ` ;`.
/// - A property with an empty value opens nested properties on the indented lines that follow
///   (`s3 =` then `  endpoint_url = ...`), stored as `s3.endpoint_url`; another indented line continues the
///   previous value.
/// - A section or key given twice merges, the later value winning.
///
/// Anything else is an error that names the file and the line, never the line's text, which may hold a secret.
struct AWSConfigFile: Sendable, Hashable {
    /// Properties by section title.
    var sections: [String: [String: String]]

    init(sections: [String: [String: String]] = [:]) {
        self.sections = sections
    }

    subscript(section: String) -> [String: String]? { sections[section] }

    /// Parses the text of a file; `path` only names the file in errors.
    init(parsing text: String, path: String) throws {
        var sections: [String: [String: String]] = [:]
        var section: String?
        var lastKey: String?
        var nestedParent: String?

        func fail(_ line: Int, _ problem: String) -> CredentialError {
            CredentialError(
                code: .invalidConfigFile,
                message: "\(path), line \(line): \(problem). Fix the line or remove it.")
        }

        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
            .enumerated()
        {
            let number = index + 1
            let trimmed = rawLine.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            let indented = rawLine.first == " " || rawLine.first == "\t"

            if trimmed.hasPrefix("[") {
                guard let close = trimmed.firstIndex(of: "]") else {
                    throw fail(number, "a section title is missing its closing ']'")
                }
                let rest = Self.strippingComment(String(trimmed[trimmed.index(after: close)...]))
                guard rest.isEmpty else { throw fail(number, "unexpected text after a section title") }
                let title = trimmed[trimmed.index(after: trimmed.startIndex)..<close]
                    .split(whereSeparator: \.isWhitespace).joined(separator: " ")
                guard !title.isEmpty else { throw fail(number, "a section title is empty") }
                section = title
                sections[title, default: [:]] = sections[title] ?? [:]
                lastKey = nil
                nestedParent = nil
                continue
            }

            guard let current = section else {
                throw fail(number, "a property appears before any [section]")
            }

            if indented, let parent = nestedParent {
                guard let (key, value) = Self.property(trimmed) else {
                    throw fail(number, "expected 'key = value' in the properties nested under '\(parent)'")
                }
                sections[current, default: [:]]["\(parent).\(key)"] = value
                continue
            }
            if indented, let lastKey, !trimmed.contains("=") {
                let previous = sections[current]?[lastKey] ?? ""
                sections[current, default: [:]][lastKey] = previous + "\n" + Self.strippingComment(trimmed)
                continue
            }

            guard let (key, value) = Self.property(trimmed) else {
                throw fail(number, "expected 'key = value' or '[section]'")
            }
            sections[current, default: [:]][key] = value
            lastKey = key
            nestedParent = value.isEmpty ? key : nil
        }
        self.sections = sections
    }

    /// Reads and parses the file at `path`; `nil` when there is no such file.
    ///
    /// - Throws: ``CredentialError`` when the file exists but cannot be read or parsed.
    static func load(path: String) throws -> AWSConfigFile? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
        let data: Data
        do {
            guard !isDirectory.boolValue else {
                throw CocoaError(.fileReadUnknown, userInfo: [NSFilePathErrorKey: path])
            }
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw CredentialError(
                code: .unreadableFile,
                message: "cannot read the AWS settings file \(path): check its permissions, or point "
                    + "AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE elsewhere",
                underlyingError: error)
        }
        return try AWSConfigFile(parsing: String(decoding: data, as: UTF8.self), path: path)
    }

    private static func property(_ line: String) -> (String, String)? {
        guard let equals = line.firstIndex(of: "=") else { return nil }
        let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
        guard !key.isEmpty else { return nil }
        let value = strippingComment(String(line[line.index(after: equals)...]))
        return (key, value)
    }

    /// Drops a comment that starts with `#` or `;` after whitespace (or at the start), and trims the rest.
    private static func strippingComment(_ text: String) -> String {
        var previousIsSpace = true
        var end = text.endIndex
        for index in text.indices {
            let character = text[index]
            if (character == "#" || character == ";") && previousIsSpace {
                end = index
                break
            }
            previousIsSpace = character.isWhitespace
        }
        return text[..<end].trimmingCharacters(in: .whitespaces)
    }
}
