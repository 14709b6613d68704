import FanoutTestSupport
import Foundation
import Testing

/// `fanout attach` runs a stored command only once the user confirms it, so changed state never runs.
@Suite(.serialized) struct AttachCommandTests {
    @Test func theStoredCommandRunsOnlyWhenConfirmed() async throws {
        try await withTemporaryDirectory { root in
            let input = root.appendingPathComponent("in")
            try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
            for index in 1...3 {
                try Data(String(repeating: "x\n", count: index).utf8).write(to: input.appendingPathComponent("\(index).txt"))
            }
            let state = root.appendingPathComponent("state").path + "/"
            let run = try await FanoutBinary.run(
                ["run", input.path, "--state", state, "--reduce", "sum", "--json", "--", "wc", "-l", "{}"])
            #expect(run.status == 0, "\(run.stderr)")
            let summary = run.lines.last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            let runID = try #require(summary?["run"] as? String)

            let unconfirmed = try await FanoutBinary.run(["attach", runID, "--state", state])
            #expect(unconfirmed.status == 64)
            #expect(unconfirmed.stderr.contains("command  wc -l {}"), "\(unconfirmed.stderr)")
            #expect(unconfirmed.stderr.contains("--run-stored-command"), "\(unconfirmed.stderr)")

            let other = try await FanoutBinary.run(["attach", runID, "--state", state, "--", "wc", "-c", "{}"])
            #expect(other.status == 64)
            #expect(other.stderr.contains("runs `wc -l {}`, not `wc -c {}`"), "\(other.stderr)")

            let repeated = try await FanoutBinary.run(
                ["attach", runID, "--state", state, "--reduce", "sum", "--", "wc", "-l", "{}"])
            #expect(repeated.status == 0, "\(repeated.stderr)")
            #expect(repeated.stdout == "6\n")
            // Without --reduce, the run's own (sum) applies: a resumed run is the same run.
            let confirmed = try await FanoutBinary.run(["attach", runID, "--state", state, "--run-stored-command"])
            #expect(confirmed.stdout == "6\n", "\(confirmed.stderr)")
            let counted = try await FanoutBinary.run(
                ["attach", runID, "--state", state, "--reduce", "count", "--run-stored-command"])
            #expect(counted.stdout == "3\n", "a flag given now wins: \(counted.stderr)")
            #expect(unconfirmed.stderr.contains("flags    --state \(state) --reduce sum"), "\(unconfirmed.stderr)")

            // Someone with write access to the state swaps the command: attach shows it and does not run it.
            let marker = root.appendingPathComponent("pwned").path
            let specURL = URL(fileURLWithPath: state + "v1/runs/\(runID)/spec.json")
            let spec = try String(contentsOf: specURL, encoding: .utf8)
            let swapped = spec.replacingOccurrences(of: #"\"wc\",\"-l\""#, with: #"\"touch\",\"\#(marker)\""#)
            #expect(swapped != spec, "the stored command was found and swapped: \(spec)")
            try swapped.write(to: specURL, atomically: true, encoding: .utf8)
            let tampered = try await FanoutBinary.run(
                ["attach", runID, "--state", state, "--reduce", "sum", "--", "wc", "-l", "{}"])
            #expect(tampered.status == 64)
            #expect(tampered.stderr.contains("touch"), "the stored command is named: \(tampered.stderr)")
            let shown = try await FanoutBinary.run(["attach", runID, "--state", state])
            #expect(shown.status == 64 && shown.stderr.contains("touch \(marker)"), "\(shown.stderr)")
            #expect(!FileManager.default.fileExists(atPath: marker), "the swapped command ran")
        }
    }
}

/// One run, one driver: a live driver's lease keeps a second one out; a dead driver's lease expires.
@Suite(.serialized) struct AttachLeaseTests {
    @Test func aSecondDriverIsRefusedWhileTheFirstLivesAndTakesOverOnceItsLeaseExpires() async throws {
        try await withTemporaryDirectory { root in
            let input = root.appendingPathComponent("in")
            try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
            for index in 1...4 {
                try Data(String(repeating: "x\n", count: index).utf8).write(to: input.appendingPathComponent("\(index).txt"))
            }
            let state = root.appendingPathComponent("state").path + "/"
            let gate = root.appendingPathComponent("gate").path
            let command = ["sh", "-c", "while [ ! -e \(gate) ]; do sleep 0.05; done; wc -l < {}"]
            let first = try RunningFanout(
                ["run", input.path, "--state", state, "--lease-duration", "3s", "--reduce", "sum", "--"] + command,
                environment: try FanoutBinary.environment())
            var runID = ""
            // Looked for once more after the deadline: on a loaded machine this task may wake up only after it.
            let deadline = ContinuousClock.now + .seconds(60)
            while true {
                let runs = (try? FileManager.default.contentsOfDirectory(atPath: state + "v1/runs/")) ?? []
                if let id = runs.first, FileManager.default.fileExists(atPath: state + "v1/runs/\(id)/spec.json") {
                    runID = id
                }
                if !runID.isEmpty || ContinuousClock.now >= deadline { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            try #require(!runID.isEmpty, "the first run starts: \(first.standardError)")

            let second = try await FanoutBinary.run(["attach", runID, "--state", state, "--reduce", "sum", "--"] + command)
            #expect(second.status == 1)
            #expect(second.stderr.contains("is driven by") && second.stderr.contains("pid \(first.pid)"), "\(second.stderr)")
            #expect(second.stderr.contains("--take-over"), "\(second.stderr)")

            // gc never deletes a run a live driver holds, even when told to delete unfinished runs.
            let gc = try await FanoutBinary.run(["gc", "--older-than", "0s", "--include-unfinished", "--state", state])
            #expect(gc.stdout.contains("keeping \(runID): driven by"), "\(gc.stdout)")
            #expect(gc.stdout.contains("0 runs deleted"), "\(gc.stdout)")

            // The first driver dies without a word; once its lease has expired, attach takes the run.
            first.send(SIGKILL)
            _ = try await first.wait()
            _ = FileManager.default.createFile(atPath: gate, contents: nil)
            var adopted = try await FanoutBinary.run(["attach", runID, "--state", state, "--reduce", "sum", "--"] + command)
            let retryUntil = ContinuousClock.now + .seconds(20)
            while adopted.status != 0 && adopted.stderr.contains("is driven by") && ContinuousClock.now < retryUntil {
                try await Task.sleep(for: .milliseconds(500))
                adopted = try await FanoutBinary.run(["attach", runID, "--state", state, "--reduce", "sum", "--"] + command)
            }
            #expect(adopted.status == 0, "\(adopted.stderr)")
            #expect(adopted.stdout == "10\n")
        }
    }
}
