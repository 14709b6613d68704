public import Foundation

extension FaultProxy {
    /// Starts a fault proxy of the caller's own in front of `upstream` (default: moto), runs `body` with it, then
    /// stops it.
    ///
    /// The shared proxy's fault queue is taken by whichever request comes next, so suites in other test targets,
    /// which may run at the same time, must not share it; a private proxy keeps their faults apart.
    /// - Throws: ``FaultProxyError`` when the proxy does not start; what `body` throws.
    public static func withPrivateProxy<T>(
        upstream: URL? = nil,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (FaultProxy) async throws -> T
    ) async throws -> T {
        let upstream = try upstream ?? TestEnvironment.s3Endpoint
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fault-proxy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let portFile = folder.appendingPathComponent("port")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/test-servers/fault_proxy.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", script.path, "--listen", "127.0.0.1:0", "--upstream", upstream.absoluteString,
            "--port-file", portFile.path,
        ]
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        defer {
            // SIGKILL: the proxy inherits the blocked signals of the thread that started it, SIGTERM among them.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        var port: Int?
        for _ in 0..<150 where port == nil {
            if let text = try? String(contentsOf: portFile, encoding: .utf8) {
                port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
            } else if !process.isRunning {
                break
            } else {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        guard let port, let url = URL(string: "http://127.0.0.1:\(port)") else {
            throw FaultProxyError(message: "the private fault proxy (\(script.path)) did not start")
        }
        return try await body(try FaultProxy(url: url))
    }
}
