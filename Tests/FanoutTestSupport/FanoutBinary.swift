public import Foundation

/// The built `fanout` binary, run as a user would: arguments, environment, exit status, standard output and error.
public enum FanoutBinary {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String

        public var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
    }

    /// `fanout` beside the test bundle (`.build/debug/`), or `FANOUT_BIN`.
    public static func location() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["FANOUT_BIN"] { return URL(fileURLWithPath: path) }
        var folder = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        if !FileManager.default.fileExists(atPath: "/proc/self/exe") {
            folder = Bundle.main.bundleURL.deletingLastPathComponent()
        }
        for _ in 0..<4 {
            let candidate = folder.appendingPathComponent("fanout")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        throw MissingBinary()
    }

    public struct MissingBinary: Error, CustomStringConvertible {
        public var description: String {
            "the fanout binary is not built next to the tests: run `swift build` (or scripts/test), or set FANOUT_BIN"
        }
    }

    /// The environment the CLI runs with: the test credentials and moto as the S3 endpoint, no profile.
    public static func environment(endpoint: URL? = nil) throws -> [String: String] {
        var environment = try TestEnvironment.variables
        environment["AWS_ENDPOINT_URL_S3"] = try (endpoint ?? TestEnvironment.s3Endpoint).absoluteString
        environment["AWS_PROFILE"] = nil
        environment["AWS_DEFAULT_PROFILE"] = nil
        return environment
    }

    /// Runs `fanout` with `arguments` and waits for it to exit, without blocking a thread.
    public static func run(_ arguments: [String], environment: [String: String]? = nil) async throws -> Result {
        try await runProcess(location(), arguments, environment: environment ?? self.environment())
    }
}

/// Runs a program to completion; its output goes through temporary files, so a large output cannot fill a pipe.
public func runProcess(_ executable: URL, _ arguments: [String], environment: [String: String]) async throws
    -> FanoutBinary.Result
{
    try await withTemporaryDirectory { folder in
        let outURL = folder.appendingPathComponent("stdout")
        let errURL = folder.appendingPathComponent("stderr")
        try Data().write(to: outURL)
        try Data().write(to: errURL)
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        defer {
            try? out.close()
            try? err.close()
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { process in continuation.resume(returning: process.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        return FanoutBinary.Result(
            status: status,
            stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }
}
