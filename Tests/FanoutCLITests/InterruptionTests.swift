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
            // Each command records its own process id and that of a child it waits for; the child waits at a gate.
            let gate = folder.appendingPathComponent("gate").path
            let script = "(while [ ! -e \(gate) ]; do sleep 0.05; done) & echo $$ $! > \(pids.path)/$(basename {}); wait; wc -l < {}"
            var environment = try FanoutBinary.environment()
            environment["XDG_STATE_HOME"] = folder.appendingPathComponent("xdg-state").path
            environment["FANOUT_STATE"] = nil
            let state = folder.appendingPathComponent("xdg-state").path + "/fanout/state/"
            let running = try RunningFanout(
                ["run", input.path, "--backend", backend, "--workers", "2", "--", "sh", "-c", script],
                environment: environment)

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
            #expect(result.stderr.contains("--state \(state)"), "the resume command names the state: \(result.stderr)")

            // Not one of the commands, nor the programs they started, outlives the run (the gate is still shut).
            try await Task.sleep(for: .milliseconds(200))
            let survivors = recorded.filter { kill($0, 0) == 0 && !isZombie($0) }
            #expect(survivors.isEmpty, "still running: \(survivors)")
            for pid in survivors { kill(pid, SIGKILL) }

            // The interrupted run is kept by gc (it is unfinished) and resumed by attach, on the backend it ran on.
            let kept = try await FanoutBinary.run(["gc", "--older-than", "0s", "--state", state])
            #expect(kept.stdout.contains("0 runs deleted") && kept.stdout.contains("unfinished"), "\(kept.stdout)")
            let runID = try #require(
                result.stderr.split(separator: " ").first { $0.hasPrefix("20") }.map { String($0.prefix { $0 != ":" }) })
            let dryAttach = try await FanoutBinary.run(["attach", runID, "--state", state, "--dry-run"])
            #expect(dryAttach.status == 64 && dryAttach.stderr.contains("--dry-run has no meaning for attach"), "\(dryAttach.stderr)")
            _ = FileManager.default.createFile(atPath: gate, contents: nil)
            let attached = try await FanoutBinary.run(
                ["attach", runID, "--state", state, "--reduce", "count", "--json", "--run-stored-command"])
            #expect(attached.status == 0, "\(attached.stderr)")
            let events = attached.lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            #expect(events.first?["backend"] as? String == (backend == "local" ? "in-process" : backend))
            #expect(events.last?["result"] as? Int == 4, "every file once: \(attached.stdout)")
            #expect(!attached.stdout.contains("\n4\n"), "with --json the result is in the summary only")
        }
    }

    private func isZombie(_ pid: Int32) -> Bool {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        guard let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(close, offsetBy: 2)...].first == "Z"
    }
}
