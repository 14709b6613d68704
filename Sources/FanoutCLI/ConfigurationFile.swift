import ArgumentParser
import Foundation

/// Defaults for flags, from an optional file: flags win over environment variables, which win over the file,
/// which wins over the built-in defaults.
///
/// The file is `$FANOUT_CONFIG`, else `$XDG_CONFIG_HOME/fanout/config`, else `~/.config/fanout/config`. It holds
/// one `key = value` a line; blank lines and lines starting with `#` are ignored, and a value may be quoted.
/// The keys `state`, `backend`, `context`, `namespace` and `image` stand for the environment variable of the same
/// meaning; every other key is a flag of `fanout run` without its dashes (`true` for a flag that takes no value;
/// a repeatable flag's key may be given on several lines), which `fanout run` applies before its own flags:
///
/// ```
/// # ~/.config/fanout/config
/// state = s3://my-bucket/.fanout/
/// backend = kubernetes
/// namespace = batch
/// secret-env = s3-credentials
/// tolerate-failures = 1%
/// no-cache = true
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
    /// The `fanout run` flags the file sets, in its order.
    let runFlags: [String]

    /// Parses the text of a file; `path` names the file in errors.
    /// - Throws: ``ConfigurationError`` naming the file, the line and what to change.
    init(parsing text: String, path: String) throws {
        var variables: [String: String] = [:]
        var runFlags: [String] = []
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
            guard !value.isEmpty else { throw fail("'\(key)' has no value. Give one, or remove the line") }
            guard let variable = known[key] else {
                guard let flags = Self.runFlags(key: key, value: value) else {
                    throw fail("'\(key) = \(value)' is not a setting of fanout: the keys are "
                        + "\(Self.keys.map(\.key).joined(separator: ", ")) and the flags of `fanout run` without their "
                        + "dashes, with a value, or true for a flag that takes none (see `fanout run --help`)")
                }
                runFlags += flags
                continue
            }
            if key == "backend", !(Self.backends + ["in-process", "k8s"]).contains(value) {
                throw fail("unknown backend '\(value)'. Use one of \(Self.backends.joined(separator: ", "))")
            }
            variables[variable] = value
        }
        self.path = path
        self.variables = variables
        self.runFlags = runFlags
    }

    /// The `fanout run` flags `key = value` stands for, or `nil` when it is none: `--key value`, or `--key` alone
    /// for `true` (nothing for `false`) when the flag takes no value.
    static func runFlags(key: String, value: String) -> [String]? {
        let flag = "--" + key
        func parses(_ flags: [String]) -> Bool {
            (try? RunCommand.parse(["/"] + flags + ["--", "true"])) != nil
        }
        let lowered = value.lowercased()
        if ["true", "yes", "false", "no"].contains(lowered), parses([flag]) {
            return lowered == "true" || lowered == "yes" ? [flag] : []
        }
        return parses([flag, value]) ? [flag, value] : nil
    }

    /// `arguments` (this process's, the executable first) with the file's `fanout run` flags put right after
    /// `run`, so that flags given on the command line come later and win.
    static func applyingRunFlags(
        to arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> [String] {
        guard arguments.count > 1, arguments[1] == "run", let file = try load(environment: environment),
            !file.runFlags.isEmpty
        else { return arguments }
        return Array(arguments.prefix(2)) + file.runFlags + arguments.dropFirst(2)
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
