public import Foundation

extension FaultProxy {
    /// Starts a fault proxy of the caller's own in front of `upstream` (default: moto), runs `body` with it, then
    /// stops it.
    ///
    /// The shared proxy's fault queue is taken by whichever request comes next, so suites in other test targets,
    /// which may run at the same time, must not share it; a private proxy keeps their faults apart.
    ///
    /// - Parameters:
    ///   - upstream: The server behind the proxy (the Cloud Storage emulator, say); default the shared moto.
    ///   - ownS3: Put the proxy in front of a moto of its own (``FaultProxy/upstream``) instead of the shared one,
    ///     for counts that must not depend on what other suites ask of the shared moto meanwhile.
    /// - Throws: ``FaultProxyError`` when the proxy or moto does not start; what `body` throws.
    public static func withPrivateProxy<T>(
        upstream: URL? = nil,
        ownS3: Bool = false,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (FaultProxy) async throws -> T
    ) async throws -> T {
        let upstreamURL = upstream
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fault-proxy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var processes: [Process] = []
        defer {
            // SIGKILL: the servers inherit the blocked signals of the thread that started them, SIGTERM among them.
            for process in processes {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
        let upstream: URL
        if let given = upstreamURL {
            upstream = given
        } else if ownS3 {
            let moto = try await startServer("private_moto.py", [], portFile: folder.appendingPathComponent("moto"))
            processes.append(moto.process)
            upstream = moto.url
        } else {
            upstream = try TestEnvironment.s3Endpoint
        }
        let proxy = try await startServer(
            "fault_proxy.py", ["--listen", "127.0.0.1:0", "--upstream", upstream.absoluteString],
            portFile: folder.appendingPathComponent("proxy"))
        processes.append(proxy.process)
        return try await body(try FaultProxy(url: proxy.url, upstream: upstream))
    }

    /// Starts `scripts/test-servers/SCRIPT` with `--port-file`, and waits for the port it writes (15 s at most).
    private static func startServer(
        _ script: String, _ arguments: [String], portFile: URL
    ) async throws -> (process: Process, url: URL) {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/test-servers/\(script)").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", path] + arguments + ["--port-file", portFile.path]
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
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
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw FaultProxyError(message: "the private \(script) (\(path)) did not start")
        }
        return (process, url)
    }
}
