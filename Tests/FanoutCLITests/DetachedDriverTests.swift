import FanoutTestSupport
import Foundation
import Testing

/// `fanout run --detach`: the command returns at once and a background driver finishes the run.
@Suite(.serialized) struct DetachedDriverTests {
    /// `count` files `n-000.txt`... holding `i + 1` lines each.
    func corpus(_ folder: URL, count: Int) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for index in 0..<count {
            try Data(String(repeating: "x\n", count: index + 1).utf8)
                .write(to: folder.appendingPathComponent(String(format: "n-%03d.txt", index)))
        }
    }

    /// The test environment, with the detached drivers' logs under `folder`.
    func environment(logsUnder folder: URL) throws -> [String: String] {
        var environment = try FanoutBinary.environment()
        environment["XDG_STATE_HOME"] = folder.appendingPathComponent("xdg-state").path
        return environment
    }

    func json(_ text: String) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
    }

    /// Asks `fanout status` until the run is no longer unfinished, for at most `timeout`.
    func waitForEnd(
        of runID: String, state: String, environment: [String: String], timeout: Duration = .seconds(90)
    ) async throws -> String? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let status = try await FanoutBinary.run(["status", runID, "--state", state, "--json"], environment: environment)
            if let value = json(status.stdout)?["status"] as? String, value != "unfinished" { return value }
            try await Task.sleep(for: .milliseconds(250))
        }
        return nil
    }

    @Test func aDetachedRunIsFinishedByItsBackgroundDriver() async throws {
        try await withTemporaryDirectory { folder in
            let input = folder.appendingPathComponent("in")
            try corpus(input, count: 6)
            let state = folder.appendingPathComponent("state").path + "/"
            let output = folder.appendingPathComponent("total.txt")
            let environment = try environment(logsUnder: folder)
            // Every command waits for the gate, so the run is unfinished until the test opens it.
            let gate = folder.appendingPathComponent("gate").path
            let detached = try await FanoutBinary.run([
                "run", input.path, "--detach", "--json", "--state", state, "--backend", "processes", "--workers", "2",
                "--shards", "2", "--reduce", "sum", "-o", output.path, "--", "sh", "-c",
                #"while [ ! -e "$2" ]; do sleep 0.05; done; wc -l < "$1""#, "sh", "{}", gate,
            ], environment: environment)
            #expect(detached.status == 0, "--detach returns without waiting for the files: \(detached.stderr)")
            let event = try #require(json(detached.stdout), "\(detached.stdout)")
            #expect(event["event"] as? String == "detached")
            #expect(event["files"] as? Int == 6)
            #expect(event["backend"] as? String == "processes")
            let runID = try #require(event["run"] as? String)
            let log = try #require(event["log"] as? String)
            #expect(log == folder.appendingPathComponent("xdg-state/fanout/runs/\(runID).log").path)

            let early = try await FanoutBinary.run(["status", runID, "--state", state, "--json"], environment: environment)
            #expect(json(early.stdout)?["status"] as? String == "unfinished", "the commands wait for the gate")
            #expect(json(early.stdout)?["done"] as? Int == 0, "nothing passes the gate yet: \(early.stdout)")
            let earlyText = try await FanoutBinary.run(["status", runID, "--state", state], environment: environment)
            #expect(earlyText.stdout.contains("/6 done"), "\(earlyText.stdout)")
            #expect(earlyText.stdout.contains("elapsed "), "\(earlyText.stdout)")
            _ = FileManager.default.createFile(atPath: gate, contents: nil)

            #expect(try await waitForEnd(of: runID, state: state, environment: environment) == "complete")
            let final = try await FanoutBinary.run(["status", runID, "--state", state, "--json"], environment: environment)
            #expect(json(final.stdout)?["done"] as? Int == 6)
            #expect(try String(contentsOf: output, encoding: .utf8) == "\((1...6).reduce(0, +))\n",
                "the background driver folds into --output")
            let results = try await FanoutBinary.run(
                ["results", runID, "--state", state, "--reduce", "sum"], environment: environment)
            #expect(results.stdout == "21\n")
            let logText = try String(contentsOfFile: log, encoding: .utf8)
            #expect(logText.contains("run \(runID): 6 files in 2 shards on processes"), "\(logText)")

            // Once the driver is gone, gc deletes the run and its log.
            let pid = try #require(event["pid"] as? Int)
            let deadline = ContinuousClock.now + .seconds(30)
            while kill(Int32(pid), 0) == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            let gc = try await FanoutBinary.run(["gc", "--older-than", "0s", "--state", state], environment: environment)
            #expect(gc.stdout.contains("1 run deleted"), "\(gc.stdout)")
            #expect(!FileManager.default.fileExists(atPath: log))
        }
    }

    @Test func textOutputIsTheRunIDAndCancelStopsTheDriverAndItsCommands() async throws {
        try await withTemporaryDirectory { folder in
            let input = folder.appendingPathComponent("in")
            try corpus(input, count: 3)
            let state = folder.appendingPathComponent("state").path + "/"
            let environment = try environment(logsUnder: folder)
            let marker = "fanout-cancel-\(UUID().uuidString)"
            let detached = try await FanoutBinary.run([
                "run", input.path, "--detach", "--state", state, "--", "sh", "-c", "sleep 60; echo \(marker)",
            ], environment: environment)
            #expect(detached.status == 0, "\(detached.stderr)")
            let runID = detached.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(runID.range(of: #"^\d{8}-\d{6}-[0-9a-f]{8}$"#, options: .regularExpression) != nil, "\(detached.stdout)")
            #expect(detached.stderr.contains("fanout status \(runID)"))

            // The commands start in the background.
            let deadline = ContinuousClock.now + .seconds(20)
            while processes(containing: marker).isEmpty && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(!processes(containing: marker).isEmpty)

            let attach = try await FanoutBinary.run(["attach", runID, "--state", state], environment: environment)
            #expect(attach.status == 1)
            #expect(attach.stderr.contains("is being driven in the background"), "\(attach.stderr)")

            // The background driver is found by its process: no --state needed, from any folder.
            let cancel = try await FanoutBinary.run(["cancel", runID], environment: environment)
            #expect(cancel.status == 0, "\(cancel.stderr)")
            #expect(cancel.stdout.contains("stopped its background driver"))
            let stopBy = ContinuousClock.now + .seconds(5)
            while !processes(containing: marker).isEmpty && ContinuousClock.now < stopBy {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(processes(containing: marker).isEmpty, "the driver's commands stop with it")
            let status = try await FanoutBinary.run(["status", runID, "--state", state, "--json"], environment: environment)
            #expect(json(status.stdout)?["status"] as? String == "unfinished")
            let log = folder.appendingPathComponent("xdg-state/fanout/runs/\(runID).log")
            #expect(try String(contentsOf: log, encoding: .utf8).contains("was cancelled"))

            let again = try await FanoutBinary.run(["cancel", runID, "--state", state], environment: environment)
            #expect(!again.stdout.contains("stopped its background driver"), "nothing is left to stop")

            // Cancelling recorded no failure for the interrupted files: attaching runs them all.
            #expect(try await FanoutBinary.run(["logs", runID, "--state", state], environment: environment)
                .stdout.contains("no failed files recorded"))
        }
    }

    /// Ids of the `sh -c` processes whose script contains `text` (not the driver, whose arguments hold it too).
    func processes(containing text: String) -> [Int] {
        let ids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return ids.compactMap(Int.init).filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let commandLine = String(decoding: data, as: UTF8.self)
            return commandLine.hasPrefix("sh\u{0}-c\u{0}") && commandLine.contains(text)
        }
    }
}
