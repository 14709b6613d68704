import FanoutHTTP
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A directory under the system's temporary directory, removed with the value.
final class CredentialTempDirectory: Sendable {
    let path: String

    init() throws {
        path =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("fanout-credentials-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `text` to `name` under the directory, creating folders, and returns the file's path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let file = (path as NSString).appendingPathComponent(name)
        try FileManager.default.createDirectory(
            atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        return file
    }
}

/// A settable clock for ``ExpiringCredentials``.
final class CredentialTestClock: Sendable {
    private let current: Mutex<Date>

    init(_ start: Date = Date(timeIntervalSince1970: 1_700_000_000)) { current = Mutex(start) }

    var now: Date { current.withLock { $0 } }

    func advance(by seconds: TimeInterval) { current.withLock { $0 += seconds } }
}

/// moto's server on a free loopback port, for STS.
///
/// moto runs under a small Python wrapper that exits when its standard input closes, so the server goes away with
/// the test process even if `python3` is a shim that forks (pyenv) or the tests crash.
final class CredentialMotoServer: Sendable {
    let endpoint: URL
    private let process: Process
    private let stdin: Pipe
    private let logPath: String

    @TaskLocal static var current: CredentialMotoServer?

    private init(endpoint: URL, process: Process, stdin: Pipe, logPath: String) {
        self.endpoint = endpoint
        self.process = process
        self.stdin = stdin
        self.logPath = logPath
    }

    private static let launcher = """
        import os, sys, threading
        def exit_when_stdin_closes():
            sys.stdin.buffer.read()
            os._exit(0)
        threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
        from moto.server import main
        main(["-H", "127.0.0.1", "-p", sys.argv[1]])
        """

    /// Starts moto and waits until it answers HTTP, for 30 s at most.
    static func start() async throws -> CredentialMotoServer {
        let port = try freeLoopbackPort()
        let logPath = FileManager.default.temporaryDirectory.appendingPathComponent("fanout-moto-\(port).log").path
        guard FileManager.default.createFile(atPath: logPath, contents: nil) else {
            throw MotoUnavailable(description: "cannot create the moto log file \(logPath)")
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        let stdin = Pipe()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", launcher, "\(port)"]
        process.standardInput = stdin
        process.standardOutput = log
        process.standardError = log
        try process.run()
        try log.close()
        let server = CredentialMotoServer(
            endpoint: URL(string: "http://127.0.0.1:\(port)")!, process: process, stdin: stdin, logPath: logPath)

        // moto's first answer takes seconds on a machine loaded by the whole suite: a generous wait, bounded.
        let deadline = ContinuousClock.now + .seconds(90)
        while await !server.answers() {
            guard process.isRunning, ContinuousClock.now < deadline else {
                let output = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
                await server.stop()
                throw MotoUnavailable(
                    description: "moto did not start on port \(port) (is `pip install 'moto[server]'` done?): "
                        + output.suffix(2000))
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return server
    }

    /// Stops moto and waits, 10 s at most, until its port no longer answers.
    func stop() async {
        try? stdin.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
        let deadline = ContinuousClock.now + .seconds(10)
        while await answers(), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        try? FileManager.default.removeItem(atPath: logPath)
    }

    private func answers() async -> Bool {
        let client = HTTPClient(configuration: .init(connectTimeout: .seconds(1), retry: .never))
        return (try? await client.send(HTTPRequest(url: endpoint), timeout: .seconds(10))) != nil
    }

    private static func freeLoopbackPort() throws -> Int {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw MotoUnavailable(description: "socket() failed: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
            }
        }
        guard bound else { throw MotoUnavailable(description: "bind() to 127.0.0.1:0 failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    struct MotoUnavailable: Error, CustomStringConvertible {
        let description: String
    }
}

/// Runs a suite with a moto server, started once before its tests and stopped after them; tests read it from
/// ``CredentialMotoServer/current``.
struct CredentialMotoServerTrait: SuiteTrait, TestScoping {
    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let server = try await CredentialMotoServer.start()
        do {
            try await CredentialMotoServer.$current.withValue(server) { try await function() }
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }
}

extension Trait where Self == CredentialMotoServerTrait {
    /// Starts moto for the suite.
    static var credentialMotoServer: Self { Self() }
}
