import FanoutTestSupport
import Foundation
import Testing

/// `fanout run` in a real terminal (tmux), read as a person reads it: what the screen shows, not the bytes written.
@Suite(.serialized) struct TerminalScreenTests {
    /// Writes `files` (name: content) under `folder/in` and returns that folder.
    private func input(_ folder: URL, _ files: [String: String]) throws -> URL {
        let input = folder.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        for (name, text) in files { try Data(text.utf8).write(to: input.appendingPathComponent(name)) }
        return input
    }

    /// The test servers' environment, with the run state in `folder` and no configuration file.
    private func environment(_ folder: URL) throws -> [String: String] {
        var environment = try FanoutBinary.environment()
        environment["XDG_STATE_HOME"] = folder.appendingPathComponent("state").path
        environment["XDG_CONFIG_HOME"] = folder.appendingPathComponent("config").path
        environment["FANOUT_CONFIG"] = nil
        return environment
    }

    /// A command that prints its file, once `gate` exists for files whose name starts with `late`.
    private func gated(_ gate: URL) -> [String] {
        ["sh", "-c", #"case "$FANOUT_NAME" in late*) while [ ! -e '\#(gate.path)' ]; do sleep 0.05; done;; esac; "#
            + #"cat "$FANOUT_FILE""#]
    }

    @Test func resultLinesAndTheStatusLineNeverShareALine() async throws {
        try await withTemporaryDirectory { folder in
            var files: [String: String] = [:]
            for index in 0..<4 { files["early-\(index)"] = "result early-\(index)\n" }
            for index in 0..<4 { files["late-\(index)"] = "result late-\(index)\n" }
            let gate = folder.appendingPathComponent("gate")
            let arguments = ["run", try input(folder, files).path, "-j", "8", "--"] + gated(gate)
            try await TerminalSession.run(
                try FanoutBinary.location(), arguments, environment: try environment(folder)
            ) { terminal in
                // Half the files have printed; the others wait, under the status line.
                let during = try await terminal.waitForScreen {
                    $0.last?.hasPrefix("4/8 files, ") == true && $0.filter { $0.hasPrefix("result ") }.count == 4
                }
                #expect(ProgressLine.isWhole(during.last ?? ""), "\(during)")
                #expect(during.filter(ProgressLine.mentions).count == 1, "one status line, at the bottom: \(during)")
                try Data().write(to: gate)
                let status = try await terminal.waitForExit()
                let screen = try await terminal.screen()
                #expect(status == 0, "\(screen)")
                #expect(screen.first?.hasSuffix(": 8 files in 1 shard on in-process") == true, "\(screen)")
                // Every result whole, on a line of its own.
                let results = screen.filter { $0.contains("result") }
                #expect(Set(results) == Set(files.values.map { String($0.dropLast()) }), "\(screen)")
                #expect(results.count == 8, "\(screen)")
                // Only the last status line stays, alone on the last line.
                #expect(screen.filter(ProgressLine.mentions).count == 1, "\(screen)")
                #expect(ProgressLine.isFinal(screen.last ?? ""), "\(screen)")
                #expect(screen.last?.hasPrefix("8/8 files, ") == true, "\(screen)")
            }
        }
    }

    @Test func aMessageAndTheFoldedResultPrintedWhileTheStatusLineShowsHaveLinesOfTheirOwn() async throws {
        try await withTemporaryDirectory { folder in
            let files = ["a.txt": "5\n", "b.txt": "7\n", "c.txt": "not a number\n"]
            let arguments = [
                "run", try input(folder, files).path, "--reduce", "sum", "--tolerate-failures", "1", "--",
                "sh", "-c", #"sleep 0.2; cat "$FANOUT_FILE""#,
            ]
            try await TerminalSession.run(
                try FanoutBinary.location(), arguments, environment: try environment(folder)
            ) { terminal in
                let status = try await terminal.waitForExit()
                let screen = try await terminal.screen()
                #expect(status == 3, "one file failed, within the tolerance: \(screen)")
                #expect(screen.contains("1 file output could not be folded by --reduce sum:"), "\(screen)")
                #expect(screen.contains { $0.hasPrefix("  c.txt printed 'not a number'") }, "\(screen)")
                #expect(screen.contains("12"), "the sum on a line of its own: \(screen)")
                #expect(screen.filter(ProgressLine.mentions).count == 1, "\(screen)")
                #expect(screen.last?.hasPrefix("3/3 files, 1 failed, ") == true, "\(screen)")
                #expect(ProgressLine.isFinal(screen.last ?? ""), "\(screen)")
            }
        }
    }

    @Test func ctrlCMessagesHaveLinesOfTheirOwn() async throws {
        try await withTemporaryDirectory { folder in
            let files = ["early-0": "result early-0\n", "early-1": "result early-1\n", "late-0": "", "late-1": ""]
            let arguments = ["run", try input(folder, files).path, "-j", "8", "--"]
                + gated(folder.appendingPathComponent("never"))
            try await TerminalSession.run(
                try FanoutBinary.location(), arguments, environment: try environment(folder)
            ) { terminal in
                try await terminal.waitForScreen { $0.last?.hasPrefix("2/4 files, ") == true }
                try await terminal.sendKeys("C-c")
                let status = try await terminal.waitForExit()
                let screen = try await terminal.screen()
                #expect(status == 130, "\(screen)")
                #expect(screen.contains("result early-0") && screen.contains("result early-1"), "\(screen)")
                let stopping = screen.filter { $0.hasPrefix("stopping run ") }
                #expect(stopping.count == 1 && stopping[0].hasSuffix("(Ctrl-C again quits at once)"), "\(screen)")
                #expect(screen.last?.hasPrefix("run ") == true && screen.last?.contains(" was cancelled;") == true)
                let statusLines = screen.filter(ProgressLine.mentions)
                #expect(statusLines.count == 1 && statusLines.allSatisfy(ProgressLine.isFinal), "\(screen)")
            }
        }
    }

    @Test func theETAShowsOnlyOnceTenFilesAndThreeSecondsHaveGone() async throws {
        try await withTemporaryDirectory { folder in
            var files: [String: String] = [:]
            for index in 0..<5 { files["1-\(index)"] = "" }
            for index in 0..<7 { files["2-\(index)"] = "" }
            for index in 0..<4 { files["3-\(index)"] = "" }
            let (second, third) = (folder.appendingPathComponent("second"), folder.appendingPathComponent("third"))
            let script = #"wait_for() { while [ ! -e "$1" ]; do sleep 0.05; done; }; case "$FANOUT_NAME" in "#
                + #"2-*) wait_for '\#(second.path)';; 3-*) wait_for '\#(third.path)';; esac"#
            let arguments =
                ["run", try input(folder, files).path, "--reduce", "count", "-j", "8", "--", "sh", "-c", script]
            try await TerminalSession.run(
                try FanoutBinary.location(), arguments, environment: try environment(folder)
            ) { terminal in
                // Five files done and four seconds gone: too few files for an ETA.
                let early = try await terminal.waitForScreen {
                    guard let last = $0.last, last.hasPrefix("5/16 files, "),
                        let seconds = last.split(separator: " ").dropLast().last.flatMap({ Int($0.dropLast()) })
                    else { return false }
                    return last.hasSuffix(" elapsed") && seconds >= 4
                }
                #expect(early.last?.contains("ETA") == false, "\(early)")
                // Twelve files done after four seconds: the ETA shows.
                try Data().write(to: second)
                let later = try await terminal.waitForScreen { $0.last?.hasPrefix("12/16 files, ") == true }
                #expect(later.last?.contains(", ETA ") == true, "\(later)")
                #expect(ProgressLine.isWhole(later.last ?? ""), "\(later)")
                try Data().write(to: third)
                let status = try await terminal.waitForExit()
                let screen = try await terminal.screen()
                #expect(status == 0, "\(screen)")
                #expect(screen.contains("16"), "\(screen)")
                #expect(screen.last?.hasPrefix("16/16 files, ") == true && ProgressLine.isFinal(screen.last ?? ""))
            }
        }
    }

    @Test func oneFileInOneShardIsSaidInTheSingular() async throws {
        try await withTemporaryDirectory { folder in
            let input = try input(folder, ["only.txt": "x\n"])
            let environment = try environment(folder)
            try await TerminalSession.run(
                try FanoutBinary.location(), ["run", input.path, "--", "cat"], environment: environment
            ) { terminal in
                let status = try await terminal.waitForExit()
                let screen = try await terminal.screen()
                #expect(status == 0, "\(screen)")
                #expect(screen.first?.hasSuffix(": 1 file in 1 shard on in-process") == true, "\(screen)")
                #expect(screen.last?.hasPrefix("1/1 file, ") == true && ProgressLine.isFinal(screen.last ?? ""))
            }
            let dryRun = try await FanoutBinary.run(
                ["run", input.path, "--dry-run", "--", "cat"], environment: environment)
            #expect(dryRun.lines.first == "1 file, 2 B, 1 shard on in-process", "\(dryRun.stdout)")
            #expect(dryRun.lines.contains("largest shard: #0, 1 file, 2 B"), "\(dryRun.stdout)")
            let runs = try await FanoutBinary.run(["runs"], environment: environment)
            #expect(runs.stdout.contains("       1 file   cat"), "\(runs.stdout)")
        }
    }
}
