import FanoutTestSupport
import Foundation
import Testing

/// Ctrl-C during `fanout run`: the run stops, every program it started is gone, and the stored results stay.
@Suite struct InterruptionTests {
    @Test(arguments: ["local", "processes"])
    func ctrlCStopsTheRunAndEveryProgramItStarted(backend: String) async throws {
        try await withTemporaryDirectory { folder in
            let input = folder.appendingPathComponent("input")
            let pids = folder.appendingPathComponent("pids")
            for directory in [input, pids] { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) }
            for index in 0..<4 { try Data("\(index)\n".utf8).write(to: input.appendingPathComponent("f\(index).txt")) }
            // Each command records its own process id and that of a child it waits for.
            let script = "sleep 60 & echo $$ $! > \(pids.path)/$(basename {}); wait"
            let running = try RunningFanout(
                ["run", input.path, "--backend", backend, "--workers", "2", "--", "sh", "-c", script],
                environment: try FanoutBinary.environment())

            var recorded: [Int32] = []
            let deadline = ContinuousClock.now + .seconds(60)
            while recorded.count < 4, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
                let files = (try? FileManager.default.contentsOfDirectory(atPath: pids.path)) ?? []
                recorded = files.flatMap { name -> [Int32] in
                    let text = (try? String(contentsOf: pids.appendingPathComponent(name), encoding: .utf8)) ?? ""
                    return text.split(whereSeparator: \.isWhitespace).compactMap { Int32($0) }
                }
            }
            try #require(recorded.count >= 4, "two commands started: \(running.standardError)")

            running.send(SIGINT)
            let result = try await running.wait(timeout: .seconds(60))
            #expect(result.status == 130, "\(result.stderr)")
            #expect(result.stderr.contains("was cancelled"))
            #expect(result.stderr.contains("fanout attach"))
            // Not one of the commands, nor the programs they started, outlives the run.
            try await Task.sleep(for: .milliseconds(200))
            let survivors = recorded.filter { kill($0, 0) == 0 && !isZombie($0) }
            #expect(survivors.isEmpty, "still running: \(survivors)")
            for pid in survivors { kill(pid, SIGKILL) }
        }
    }

    private func isZombie(_ pid: Int32) -> Bool {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        guard let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(close, offsetBy: 2)...].first == "Z"
    }
}
