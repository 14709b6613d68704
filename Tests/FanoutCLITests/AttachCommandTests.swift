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
            let confirmed = try await FanoutBinary.run(
                ["attach", runID, "--state", state, "--reduce", "sum", "--run-stored-command"])
            #expect(confirmed.stdout == "6\n", "\(confirmed.stderr)")

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
