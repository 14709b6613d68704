import Foundation

/// Defaults for flags, from an optional file: flags win over environment variables, which win over the file,
/// which wins over the built-in defaults.
///
/// The file is `$FANOUT_CONFIG`, else `$XDG_CONFIG_HOME/fanout/config`, else `~/.config/fanout/config`. It holds
/// one `key = value` a line; blank lines and lines starting with `#` are ignored, and a value may be quoted.
/// Each key stands for the environment variable of the same meaning:
///
/// ```
/// # ~/.config/fanout/config
/// state = s3://my-bucket/.fanout/
/// backend = kubernetes
/// namespace = batch
/// ```
struct ConfigurationFile: Sendable, Hashable {
    /// The keys a file may set, and the environment variable each stands for.
    static let keys: KeyValuePairs<String, String> = [
        "state": "FANOUT_STATE",
        "backend": "FANOUT_BACKEND",
        "context": "FANOUT_CONTEXT",
        "namespace": "FANOUT_NAMESPACE",
        "image": "FANOUT_IMAGE",
    ]

    /// The values `backend` takes.
    static let backends = ["local", "processes", "kubernetes"]

    /// Where the file was read from.
    let path: String
    /// The settings, by environment variable.
    let variables: [String: String]

    /// Parses the text of a file; `path` names the file in errors.
    /// - Throws: ``ConfigurationError`` naming the file, the line and what to change.
    init(parsing text: String, path: String) throws {
        var variables: [String: String] = [:]
        let known = Dictionary(uniqueKeysWithValues: Self.keys.map { ($0.key, $0.value) })
        for (index, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fail = { (problem: String) in
                ConfigurationError("\(path), line \(index + 1): \(problem)")
            }
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw fail("expected 'key = value'. Write it like `namespace = batch`, or start the line with # to "
                    + "make it a comment")
            }
            let key = trimmed[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            var value = trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            guard let variable = known[key] else {
                throw fail("unknown key '\(key)'. The keys are \(Self.keys.map(\.key).joined(separator: ", "))")
            }
            guard !value.isEmpty else { throw fail("'\(key)' has no value. Give one, or remove the line") }
            if key == "backend", !(Self.backends + ["in-process", "k8s"]).contains(value) {
                throw fail("unknown backend '\(value)'. Use one of \(Self.backends.joined(separator: ", "))")
            }
            variables[variable] = value
        }
        self.path = path
        self.variables = variables
    }

    /// The file that applies in `environment`, and whether it was named explicitly (`FANOUT_CONFIG`).
    static func location(in environment: [String: String]) -> (path: String, explicit: Bool)? {
        if let path = environment["FANOUT_CONFIG"], !path.isEmpty { return (path, true) }
        if let folder = environment["XDG_CONFIG_HOME"], !folder.isEmpty { return (folder + "/fanout/config", false) }
        if let home = environment["HOME"], !home.isEmpty { return (home + "/.config/fanout/config", false) }
        return nil
    }

    /// Reads the file that applies in `environment`; `nil` when there is none. A file named by `FANOUT_CONFIG`
    /// must exist.
    /// - Throws: ``ConfigurationError`` when the file cannot be read or parsed.
    static func load(environment: [String: String]) throws -> ConfigurationFile? {
        guard let (path, explicit) = location(in: environment) else { return nil }
        if !explicit && !FileManager.default.fileExists(atPath: path) { return nil }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigurationError(
                "cannot read the configuration file \(path)\(explicit ? " (FANOUT_CONFIG)" : ""): check that it "
                    + "exists and is a readable file, or unset FANOUT_CONFIG")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError("the configuration file \(path) is not UTF-8 text")
        }
        return try ConfigurationFile(parsing: text, path: path)
    }

    /// The process environment over the configuration file's settings: what the commands read defaults from.
    static func effectiveEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> [String: String] {
        guard let file = try load(environment: environment) else { return environment }
        return environment.merging(file.variables) { fromEnvironment, _ in fromEnvironment }
    }
}

/// A configuration file that cannot be used; the message names the file and what to change.
struct ConfigurationError: Error, CustomStringConvertible {
    let message: String

    init(_ message: String) { self.message = message }

    var description: String { message }
}
