import FanoutTestSupport
import Foundation
import Testing

/// `--joblog FILE` writes GNU parallel's job log, which parallel itself reads back.
@Suite(.serialized) struct JobLogTests {
    /// The log's lines split into fields, header first.
    func rows(_ path: URL) throws -> [[String]] {
        try String(contentsOf: path, encoding: .utf8).split(separator: "\n")
            .map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }

    func input(_ files: [String: String], under root: URL) throws -> (path: URL, environment: [String: String]) {
        let input = root.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        for (name, text) in files { try Data(text.utf8).write(to: input.appendingPathComponent(name)) }
        var environment = try FanoutBinary.environment()
        environment["XDG_STATE_HOME"] = root.path
        return (input, environment)
    }

    @Test func eachFileHasALineWithItsExitStatusSignalOutputAndCommand() async throws {
        try await withTemporaryDirectory { root in
            let (input, environment) = try input(
                ["a.txt": "1\n", "b.txt": "2\n", "c.txt": "3\n", "d\tname.txt": "4\n"], under: root)
            let log = root.appendingPathComponent("jobs.log")
            // a: exit 1, accepted; b: exit 0; c: killed by the time limit; d: exit 5, a failure.
            let script = """
                case {/} in a.txt) cat {}; exit 1;; b.txt) cat {};; c.txt) exec sleep 60;; *) exit 5;; esac
                """
            let before = Date().timeIntervalSince1970
            let run = try await FanoutBinary.run(
                ["run", input.path, "--joblog", log.path, "--accept-exit", "0,1", "--timeout", "1s",
                 "--tolerate-failures", "2", "-q", "--", "sh", "-c", script],
                environment: environment)
            let after = Date().timeIntervalSince1970
            #expect(run.status == 3, "two files failed within the tolerance: \(run.stderr)")
            let table = try rows(log)
            #expect(table.first == [
                "Seq", "Host", "Starttime", "JobRuntime", "Send", "Receive", "Exitval", "Signal", "Command", "Attempt",
            ])
            let lines = Dictionary(uniqueKeysWithValues: table.dropFirst().map { ($0[0], $0) })
            #expect(lines.count == 4 && table.dropFirst().allSatisfy { $0.count == 10 }, "\(table)")
            // Seq is the place in key order: a, b, c, d<TAB>name.
            #expect(lines["1"]?[6] == "1" && lines["1"]?[7] == "0" && lines["1"]?[5] == "2", "\(table)")
            #expect(lines["2"]?[6] == "0" && lines["2"]?[5] == "2", "\(table)")
            #expect(lines["3"]?[6] == "0" && lines["3"]?[7] == "15", "stopped with SIGTERM: \(table)")
            #expect(lines["4"]?[6] == "5" && lines["4"]?[5] == "0", "\(table)")
            for line in table.dropFirst() {
                #expect(line[1] == ":" && line[4] == "0" && line[9] == "1", "\(line)")
                let start = try #require(Double(line[2]))
                #expect(start >= before.rounded(.down) && start <= after, "\(line)")
                #expect(Double(line[3].trimmingCharacters(in: .whitespaces)).map { $0 >= 0 } == true, "\(line)")
            }
            #expect(lines["2"]?[8].hasPrefix("sh -c 'case '\\''b.txt'\\'' in") == true, "the script as run: \(table)")
            #expect(lines["4"]?[8].contains("d\\tname.txt") == true, "a tab is written as \\t: \(table)")

            // A second run reuses every success: they did not run, so only the failures have lines.
            let again = try await FanoutBinary.run(
                ["run", input.path, "--joblog", log.path, "--accept-exit", "0,1", "--timeout", "1s",
                 "--tolerate-failures", "2", "-q", "--", "sh", "-c", script],
                environment: environment)
            #expect(again.status == 3, "\(again.stderr)")
            let second = try rows(log)
            #expect(second.dropFirst().map { $0[0] }.sorted() == ["3", "4"], "\(second)")
        }
    }

    @Test func gnuParallelResumesFromFanoutsLog() async throws {
        try await withTemporaryDirectory { root in
            let (input, environment) = try input(["a.txt": "1\n", "b.txt": "x\n", "c.txt": "3\n"], under: root)
            let log = root.appendingPathComponent("jobs.log")
            let run = try await FanoutBinary.run(
                ["run", input.path, "--joblog", log.path, "--tolerate-failures", "1", "-q", "--", "grep", "-c", "[0-9]"],
                environment: environment)
            #expect(run.status == 3, "b.txt has no digit: grep exits 1 \(run.stderr)")
            let first = try rows(log)
            // Lines come as files finish, as in GNU parallel; Seq is the place in key order.
            #expect(first.dropFirst().sorted { $0[0] < $1[0] }.map { $0[8] } == ["a.txt", "b.txt", "c.txt"].map {
                "grep -c '[0-9]' \(input.appendingPathComponent($0).path)"
            }, "the command line as run, quoted for a shell: \(first)")
            // parallel skips the jobs the log shows succeeded and runs the failed one again, appending to the log.
            let files = ["a.txt", "b.txt", "c.txt"].map { input.appendingPathComponent($0).path }
            let parallel = try await runProcess(
                URL(fileURLWithPath: "/usr/bin/parallel"),
                ["--will-cite", "--joblog", log.path, "--resume-failed", "echo", "again", ":::"] + files,
                environment: environment)
            #expect(parallel.status == 0, "\(parallel.stderr)")
            #expect(parallel.stdout == "again \(files[1])\n", "only the failed file runs again: \(parallel.stdout)")
            #expect(try rows(log).count == 5, "parallel appended its line to ours")
        }
    }

    @Test func aLogThatCannotBeWrittenIsAUsageErrorBeforeAnythingRuns() async throws {
        try await withTemporaryDirectory { root in
            let (input, environment) = try input(["a.txt": "1\n"], under: root)
            let marker = root.appendingPathComponent("ran")
            let run = try await FanoutBinary.run(
                ["run", input.path, "--joblog", root.appendingPathComponent("missing/jobs.log").path, "--", "sh", "-c",
                 "touch \(marker.path)"],
                environment: environment)
            #expect(run.status == 64, "\(run.stderr)")
            #expect(run.stderr.contains("cannot write the job log"), "\(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: marker.path))
        }
    }
}
