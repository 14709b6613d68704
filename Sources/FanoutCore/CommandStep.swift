import Foundation
import FanoutStorage
import Crypto

/// A step that runs a program on each file, as `xargs` would: its standard output is the file's result (its exact
/// bytes, as a ``CommandOutput``), and a non-zero exit is the file's failure, with the end of its standard error.
///
/// Placeholders in the arguments are replaced per file, in one pass: `{}` an absolute local path to the file
/// (downloaded to a temporary file when remote), `{key}`, `{name}` (last path component), `{url}` (a presigned URL,
/// or `file://`), `{size}`, and GNU parallel's `{.}` (the key without its extension), `{/}` (its last component),
/// `{//}` (its folder) and `{/.}` (its last component without extension), all derived from the key, never from a
/// downloaded file's temporary path. The same values are in the program's environment as `FANOUT_FILE`,
/// `FANOUT_KEY`, `FANOUT_NAME`, `FANOUT_URL`, `FANOUT_SIZE`, `FANOUT_KEY_NOEXT`, `FANOUT_BASENAME`,
/// `FANOUT_DIRNAME` and `FANOUT_STEM`. No value is ever read as shell code: a placeholder in a shell's
/// `-c` script becomes one quoted word, and one inside double quotes there is refused (``CommandTemplate`` has the
/// rules). With ``stdin``, the file's bytes are the program's standard input instead.
public struct CommandStep: Sendable, Hashable, Codable {
    /// The program and its arguments, with placeholders.
    public var command: [String]
    /// Feed the file on standard input. Default `false`.
    public var stdin: Bool
    /// How long `{url}` stays valid. Default one hour.
    public var urlLifetimeSeconds: Int
    /// Per-file limits and accepted exit statuses. Default ``Limits/init()``: no time limit, only 0 succeeds.
    public var limits: Limits

    public init(command: [String], stdin: Bool = false, urlLifetimeSeconds: Int = 3600, limits: Limits = Limits()) {
        self.command = command
        self.stdin = stdin
        self.urlLifetimeSeconds = urlLifetimeSeconds
        self.limits = limits
    }

    /// Reads a step recorded before ``limits`` existed with the default limits.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        command = try container.decode([String].self, forKey: .command)
        stdin = try container.decode(Bool.self, forKey: .stdin)
        urlLifetimeSeconds = try container.decode(Int.self, forKey: .urlLifetimeSeconds)
        limits = try container.decodeIfPresent(Limits.self, forKey: .limits) ?? Limits()
    }

    /// `command` as xargs and GNU parallel would run it: with `{}` appended when it names no placeholder and the
    /// file does not go to standard input, so no command silently runs without its file.
    public static func appendingFile(to command: [String], stdin: Bool) -> [String] {
        guard !stdin, !command.isEmpty, !command.contains(where: CommandTemplate.containsPlaceholder) else {
            return command
        }
        return command + [CommandTemplate.Placeholder.path.rawValue]
    }

    /// Checks that every placeholder stands where its value can be placed safely.
    /// - Throws: ``CommandTemplateError`` with the safe way to write the command.
    public func validate() throws(CommandTemplateError) {
        _ = try CommandTemplate(command)
    }

    /// The map step; its version follows the command, so changing the command recomputes every file.
    ///
    /// A command that ``validate()`` refuses makes a step whose every file fails with that message.
    public var step: MapStep<CommandOutput> {
        let template = Result { () throws(CommandTemplateError) in try CommandTemplate(command) }
        let (stdin, lifetime, limits) = (self.stdin, urlLifetimeSeconds, limits)
        // Only what changes a stored result changes the version: accepted exit statuses do, a time limit does not
        // (a file that ran out of time failed, and failures are never reused). "output=bytes": results stored when
        // the output was decoded as text are not reused as bytes.
        let digest = SHA256.hash(
            data: Data(
                (command + ["stdin=\(stdin)", "output=bytes"] + limits.versionParts).joined(separator: "\u{0}").utf8))
        let version = digest.prefix(8).map { String(format: "%02x", $0) }.joined()
        var step = MapStep("command", version: version) { file in
            try await Self.run(try template.get(), stdin: stdin, urlLifetimeSeconds: lifetime, limits: limits, on: file)
        }
        step.parameters = (try? JSONEncoder().encode(self)).map { String(decoding: $0, as: UTF8.self) }
        // A file's result is the command's output, whichever build of fanout ran it.
        step.cacheFollowsBuild = false
        step.reportsProgramExit = true
        return step
    }

    /// Checks, before a run, that the program can be found here (on `PATH`, or at the path given), so a typo fails
    /// once rather than on every file. Programs named through a placeholder are not checked.
    /// - Throws: ``ChildProcessError`` saying what to do.
    /// - Parameter path: the `PATH` to search; default this process's.
    public func checkProgram(path: String? = nil) throws {
        guard let program = command.first, !program.contains("{") else { return }
        let found = try ExecutableLookup.resolve(program, path: path ?? ProcessInfo.processInfo.environment["PATH"])
        guard FileManager.default.isExecutableFile(atPath: found) else {
            throw ChildProcessError(message: "\(program) is not an executable file; check the path and its permissions")
        }
    }

    /// The command step recorded in a run's spec.
    public static func decode(_ parameters: String) -> CommandStep? {
        try? JSONDecoder().decode(CommandStep.self, from: Data(parameters.utf8))
    }

    private static func run(
        _ template: CommandTemplate, stdin: Bool, urlLifetimeSeconds: Int, limits: Limits, on file: InputFile
    ) async throws -> CommandOutput {
        guard !template.arguments.isEmpty else { throw ChildProcessError(message: "no command given") }
        let url =
            template.uses(.url)
            ? try await file.store.presignedURL(
                key: file.key, method: .get, expires: .seconds(urlLifetimeSeconds)
            ).absoluteString : nil
        func execute(path: String?) async throws -> CommandOutput {
            func value(_ placeholder: CommandTemplate.Placeholder) -> String {
                Self.value(of: placeholder, key: file.key, size: file.size, path: path ?? "", url: url ?? "")
            }
            let command = template.render(value)
            var environment = ChildProcess.inheritedEnvironment
            for placeholder in CommandTemplate.Placeholder.allCases {
                if placeholder == .path && path == nil || placeholder == .url && url == nil { continue }
                environment[placeholder.environmentName] = value(placeholder)
            }
            let result = try await limits.withTimeLimit { [environment] in
                let result = try await ChildProcess.run(
                    command[0], arguments: Array(command.dropFirst()), environment: environment,
                    standardInput: stdin ? path : nil)
                // Recorded here, so a program stopped for running out of time is recorded with its signal too.
                ProgramExitRecorder.current?.record(ProgramExit(result))
                return result
            }
            guard limits.accepts(result) else {
                throw ChildProcessError(message: "\(command[0]) \(result)")
            }
            return CommandOutput(bytes: result.standardOutput)
        }
        if stdin || template.uses(.path) || file.isLocal {
            return try await file.withLocalPath { path in try await execute(path: path) }
        }
        return try await execute(path: nil)
    }
}
