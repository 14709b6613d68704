import Foundation
import FanoutStorage
import Crypto

/// A step that runs a program on each file, as `xargs` would: its standard output is the file's result, and a
/// non-zero exit is the file's failure, with the end of its standard error.
///
/// Placeholders in the arguments are replaced per file: `{}` a local path to the file (downloaded to a temporary
/// file when remote), `{key}`, `{name}` (last path component), `{url}` (a presigned URL, or `file://`), `{size}`.
/// With ``stdin``, the file's bytes are the program's standard input instead.
public struct CommandStep: Sendable, Hashable, Codable {
    /// The program and its arguments, with placeholders.
    public var command: [String]
    /// Feed the file on standard input. Default `false`.
    public var stdin: Bool
    /// How long `{url}` stays valid. Default one hour.
    public var urlLifetimeSeconds: Int

    public init(command: [String], stdin: Bool = false, urlLifetimeSeconds: Int = 3600) {
        self.command = command
        self.stdin = stdin
        self.urlLifetimeSeconds = urlLifetimeSeconds
    }

    /// The map step; its version follows the command, so changing the command recomputes every file.
    public var step: MapStep<String> {
        let template = self
        let digest = SHA256.hash(data: Data((command + ["stdin=\(stdin)"]).joined(separator: "\u{0}").utf8))
        let version = digest.prefix(8).map { String(format: "%02x", $0) }.joined()
        var step = MapStep("command", version: version) { file in try await template.run(on: file) }
        step.parameters = (try? JSONEncoder().encode(self)).map { String(decoding: $0, as: UTF8.self) }
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

    func run(on file: InputFile) async throws -> String {
        guard let program = command.first else { throw ChildProcessError(message: "no command given") }
        let needsPath = stdin || command.contains { $0.contains("{}") }
        let needsURL = command.contains { $0.contains("{url}") }
        let url = needsURL
            ? try await file.store.presignedURL(
                key: file.key, method: .get, expires: .seconds(urlLifetimeSeconds)).absoluteString
            : file.url

        func execute(path: String?) async throws -> String {
            let arguments = command.dropFirst().map { substitute($0, file: file, path: path, url: url) }
            let result = try await ChildProcess.run(
                substitute(program, file: file, path: path, url: url), arguments: arguments,
                standardInput: stdin ? path : nil)
            guard result.succeeded else {
                throw ChildProcessError(message: "\(program) \(result)")
            }
            return String(decoding: result.standardOutput, as: UTF8.self)
        }
        if needsPath {
            return try await file.withLocalPath { path in try await execute(path: path) }
        }
        return try await execute(path: nil)
    }

    private func substitute(_ argument: String, file: InputFile, path: String?, url: String) -> String {
        guard argument.contains("{") else { return argument }
        var text = argument
        if let path { text = text.replacingOccurrences(of: "{}", with: path) }
        return text
            .replacingOccurrences(of: "{key}", with: file.key)
            .replacingOccurrences(of: "{name}", with: file.name)
            .replacingOccurrences(of: "{url}", with: url)
            .replacingOccurrences(of: "{size}", with: String(file.size))
    }
}
