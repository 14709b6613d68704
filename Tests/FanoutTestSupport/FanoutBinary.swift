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

/// A `fanout` command started in the background, to be signalled (Ctrl-C) while it works.
public final class RunningFanout: @unchecked Sendable {
    private let process = Process()
    private let folder: URL
    private let exited = AsyncStream<Int32>.makeStream()

    /// Starts `fanout` with `arguments`; its output goes to temporary files.
    public init(_ arguments: [String], environment: [String: String]) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("fanout-bg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for name in ["stdout", "stderr"] { try Data().write(to: folder.appendingPathComponent(name)) }
        process.executableURL = try FanoutBinary.location()
        process.arguments = arguments
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: folder.appendingPathComponent("stdout"))
        process.standardError = try FileHandle(forWritingTo: folder.appendingPathComponent("stderr"))
        let continuation = exited.continuation
        process.terminationHandler = { process in
            continuation.yield(process.terminationStatus)
            continuation.finish()
        }
        try process.run()
    }

    deinit {
        if process.isRunning { process.terminate() }
        try? FileManager.default.removeItem(at: folder)
    }

    public var pid: Int32 { process.processIdentifier }

    /// What it has printed on standard output so far.
    public var standardOutput: String {
        (try? String(contentsOf: folder.appendingPathComponent("stdout"), encoding: .utf8)) ?? ""
    }

    /// What it has printed on standard error so far.
    public var standardError: String {
        (try? String(contentsOf: folder.appendingPathComponent("stderr"), encoding: .utf8)) ?? ""
    }

    /// Sends `signal` (SIGINT is Ctrl-C).
    public func send(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the exit (at most `timeout`) and returns what it printed.
    public func wait(timeout: Duration = .seconds(120)) async throws -> FanoutBinary.Result {
        let status = await withTaskGroup(of: Int32?.self) { group in
            group.addTask { [exited] in await exited.stream.first { _ in true } }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        guard let status else {
            process.terminate()
            throw TimedOut(what: "fanout \(process.arguments?.first ?? "") to exit", timeout: timeout)
        }
        return FanoutBinary.Result(
            status: status,
            stdout: (try? String(contentsOf: folder.appendingPathComponent("stdout"), encoding: .utf8)) ?? "",
            stderr: standardError)
    }

    public struct TimedOut: Error, CustomStringConvertible {
        let what: String
        let timeout: Duration
        public var description: String { "waited \(timeout) for \(what)" }
    }
}
