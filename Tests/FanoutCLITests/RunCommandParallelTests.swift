import FanoutTestSupport
import Foundation
import Testing

/// The flags that users of xargs and GNU parallel reach for, driving the built binary.
@Suite(.serialized) struct RunCommandParallelTests {
    /// Files whose command holds a lock (a folder that only one `mkdir` can create) for a moment, so that two
    /// commands at once make one of them fail.
    func exclusiveCommand(lock: URL) -> [String] {
        ["sh", "-c", "mkdir \(lock.path) || exit 9; sleep 0.2; rmdir \(lock.path)", "sh"]
    }

    @Test(arguments: [["-j", "1"], ["--jobs", "1"], ["--parallelism", "1"]])
    func jobsAreFilesInFlightAsInGNUParallel(flag: [String]) async throws {
        try await withTemporaryDirectory { root in
            let input = root.appendingPathComponent("in")
            try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
            for index in 0..<8 { try Data("\(index)\n".utf8).write(to: input.appendingPathComponent("\(index).txt")) }
            let lock = root.appendingPathComponent("lock")
            var environment = try FanoutBinary.environment()
            environment["XDG_STATE_HOME"] = root.path
            let run = try await FanoutBinary.run(
                ["run", input.path, "--reduce", "count", "-q", "--no-cache"] + flag + ["--"] + exclusiveCommand(lock: lock),
                environment: environment)
            #expect(run.status == 0, "one file at a time never finds the lock taken: \(run.stderr)")
            #expect(run.stdout == "8\n")
        }
    }

    @Test func theHelpNamesJobsAndJobPerShard() async throws {
        let help = try await FanoutBinary.run(["run", "--help"])
        let text = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(text.contains("-j, --parallelism, --jobs <parallelism>") || text.contains("-j, --jobs"), "\(help.stdout)")
        #expect(text.contains("--job-per-shard"))
        let zero = try await FanoutBinary.run(["run", ".", "-j", "0", "--", "true"])
        #expect(zero.status == 64 && zero.stderr.contains("--parallelism must be at least 1"), "\(zero.stderr)")
    }

    /// A folder `in` under `root` holding `files`, and an environment whose state stays under `root`.
    func input(_ files: [String: String], under root: URL) throws -> (path: String, environment: [String: String]) {
        let input = root.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        for (name, text) in files { try Data(text.utf8).write(to: input.appendingPathComponent(name)) }
        var environment = try FanoutBinary.environment()
        environment["XDG_STATE_HOME"] = root.path
        return (input.path, environment)
    }

    @Test func aFileThatOutlastsTheTimeoutFailsAndItsProcessGroupIsStopped() async throws {
        try await withTemporaryDirectory { root in
            let (input, environment) = try input(["quick.txt": "1\n2\n", "slow.txt": "1\n"], under: root)
            let pidFile = root.appendingPathComponent("sleeper.pid")
            let script = "if [ {/} = slow.txt ]; then sleep 60 & echo $! > \(pidFile.path); wait; fi; wc -l < {}"
            let started = ContinuousClock.now
            let run = try await FanoutBinary.run(
                ["run", input, "--timeout", "1s", "--tolerate-failures", "1", "--reduce", "sum", "--json", "--", "sh",
                 "-c", script], environment: environment)
            #expect(ContinuousClock.now - started < .seconds(30), "the slow file was stopped, not waited for")
            #expect(run.status == 3, "\(run.stderr)")
            let events = run.lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            let slow = events.first { $0["key"] as? String == "slow.txt" }
            #expect(slow?["error"] as? String == "timed out after 1s", "\(run.stdout)")
            #expect(events.last?["result"] as? Double == 2, "\(run.stdout)")
            let pid = String(decoding: try Data(contentsOf: pidFile), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(!isRunning(pid), "the command's own child was stopped with its process group")

            let help = try await FanoutBinary.run(["run", "--help"])
            #expect(help.stdout.contains("--timeout <duration>"))
            let zero = try await FanoutBinary.run(["run", input, "--timeout", "0s", "--", "true"])
            #expect(zero.status == 64 && zero.stderr.contains("--timeout must be at least 1s"), "\(zero.stderr)")
        }
    }

    /// Whether process `pid` runs (exists and is not a zombie that no one reaped).
    func isRunning(_ pid: String) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        return !stat.contains(") Z ")
    }

    @Test func acceptedExitStatusesMakeGrepCountingNothingASuccess() async throws {
        try await withTemporaryDirectory { root in
            let (input, environment) = try input(["a.log": "ERROR x\nERROR y\nok\n", "b.log": "ok\n"], under: root)
            let accepted = try await FanoutBinary.run(
                ["run", input, "--accept-exit", "0,1", "--reduce", "sum", "-q", "--", "grep", "-c", "ERROR"],
                environment: environment)
            #expect(accepted.status == 0, "\(accepted.stderr)")
            #expect(accepted.stdout == "2\n")
            // Without it, exit 1 is a failure again: the stored success of b.log is not reused.
            let strict = try await FanoutBinary.run(
                ["run", input, "--reduce", "sum", "-q", "--", "grep", "-c", "ERROR"], environment: environment)
            #expect(strict.status == 1, "\(strict.stdout)")
            #expect(strict.stderr.contains("b.log") && strict.stderr.contains("exited with status 1"), "\(strict.stderr)")
            let wrong = try await FanoutBinary.run(["run", input, "--accept-exit", "0,x", "--", "true"])
            #expect(wrong.status == 64 && wrong.stderr.contains("--accept-exit takes exit statuses"), "\(wrong.stderr)")
            let help = try await FanoutBinary.run(["run", "--help"])
            #expect(help.stdout.contains("--accept-exit <codes>"))
        }
    }

    @Test func versionNamesThePackageAndTheSwiftRelease() async throws {
        let version = try await FanoutBinary.run(["--version"])
        #expect(version.status == 0, "\(version.stderr)")
        #expect(version.stdout.wholeMatch(of: /fanout \d+\.\d+\.\d+ \(Swift \d+\.\d+(\.\d+)?\)\n/) != nil,
            "\(version.stdout)")
    }

    @Test func aDryRunShowsTheFirstFilesCommandLinesShellQuoted() async throws {
        try await withTemporaryDirectory { root in
            let files = ["a b.txt": "1\n", "it's.txt": "2\n", "c.log": "3\n", "d.log": "4\n"]
            let (input, environment) = try input(files, under: root)
            let marker = root.appendingPathComponent("ran")
            let dryRun = try await FanoutBinary.run(
                ["run", input, "--dry-run", "--", "sh", "-c", "touch \(marker.path); cp {} out/{/.}.bak"],
                environment: environment)
            #expect(dryRun.status == 0, "\(dryRun.stderr)")
            let path = URL(fileURLWithPath: input).appendingPathComponent("a b.txt").path
            #expect(dryRun.stdout.contains(#"  sh -c 'touch \#(marker.path); cp '\''\#(path)'\'' out/'\''a b'\''.bak'"#),
                "\(dryRun.stdout)")
            #expect(dryRun.stdout.contains("the first 3 files run:"))
            // Braces bash would expand are quoted; whole placeholders are shown as they are typed.
            let braces = try await FanoutBinary.run(
                ["run", input, "--dry-run", "--", "echo", "x{a,b}", "{1..3}", "{name}"], environment: environment)
            #expect(braces.stdout.contains("  echo 'x{a,b}' '{1..3}' 'a b.txt'"), "\(braces.stdout)")
            #expect(dryRun.lines.filter { $0.hasPrefix("  sh -c") }.count == 3)
            #expect(!FileManager.default.fileExists(atPath: marker.path), "nothing ran")
            let json = try await FanoutBinary.run(
                ["run", input, "--dry-run", "--json", "--", "wc", "-l"], environment: environment)
            let plan = json.lines.first.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            #expect((plan?["commandLines"] as? [String])?.first == "wc -l " + ShellQuote.word(path), "\(json.stdout)")
        }
    }
}

extension RunCommandParallelTests {
    @Test func filesFromAFileOrStandardInputRunOnlyThoseKeys() async throws {
        try await withTemporaryDirectory { root in
            let files = ["a.txt": "1\n", "b.txt": "1\n2\n", "sub/c.txt": "1\n2\n3\n", "it's.txt": "1\n2\n3\n4\n"]
            let (input, environment) = try input([:], under: root)
            for (name, text) in files {
                let url = URL(fileURLWithPath: input).appendingPathComponent(name)
                try FileManager.default.createDirectory(
                    at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(text.utf8).write(to: url)
            }
            let list = root.appendingPathComponent("list")
            try Data("a.txt\n./sub/c.txt\n\na.txt\n".utf8).write(to: list)
            let fromFile = try await FanoutBinary.run(
                ["run", input, "--files-from", list.path, "--json", "--", "wc", "-l"],
                environment: environment)
            #expect(fromFile.status == 0, "\(fromFile.stderr)")
            let keys = fromFile.lines.compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["key"] as? String
            }
            #expect(keys.sorted() == ["a.txt", "sub/c.txt"], "\(fromFile.stdout)")

            let binary = try FanoutBinary.location().path
            let fromStdin = try await runProcess(
                URL(fileURLWithPath: "/bin/sh"),
                ["-c", #"printf '%s\n' "it's.txt" b.txt | "$0" run "$1" --files-from - --reduce sum -q -- wc -l"#, binary, input],
                environment: environment)
            #expect(fromStdin.status == 0, "\(fromStdin.stderr)")
            #expect(fromStdin.stdout == "6\n")

            let missing = try await FanoutBinary.run(
                ["run", input, "--files-from", root.appendingPathComponent("nope").path, "--", "true"],
                environment: environment)
            #expect(missing.status == 64 && missing.stderr.contains("no such readable file"), "\(missing.stderr)")
            let help = try await FanoutBinary.run(["run", "--help"])
            #expect(help.stdout.contains("--files-from <file>"))
        }
    }
}

extension RunCommandParallelTests {
    @Test(arguments: [["--fail-fast"], ["--halt", "now,fail=1"], ["--halt", "now,fail=2"]])
    func haltStopsTheRunAtTheNthFailure(flag: [String]) async throws {
        try await withTemporaryDirectory { root in
            let files = Dictionary(uniqueKeysWithValues: (0..<20).map { (String(format: "%02d.txt", $0), "\($0)\n") })
            let (input, environment) = try input(files, under: root)
            // Files 00 and 01 fail at once; the others take a while each, one at a time.
            let script = "case {/} in 00.txt|01.txt) exit 7;; esac; sleep 0.5; cat {}"
            let started = ContinuousClock.now
            let run = try await FanoutBinary.run(
                ["run", input, "-j", "1", "--json"] + flag + ["--", "sh", "-c", script], environment: environment)
            #expect(ContinuousClock.now - started < .seconds(8), "the run stopped instead of running all 20 files")
            #expect(run.status == 1, "\(run.stderr)")
            let events = run.lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            let done = events.filter { $0["event"] as? String == "file" }
            #expect(done.count < 20, "\(run.stdout)")
            #expect(run.stderr.contains("failed"), "\(run.stderr)")
        }
    }

    @Test func haltIsCheckedBeforeAnythingRuns() async throws {
        for (flags, message) in [
            (["--halt", "later,fail=1"], "--halt takes now,fail=N or soon,fail=N"),
            (["--halt", "now,fail=0"], "--halt takes now,fail=N"),
            (["--fail-fast", "--tolerate-failures", "2"], "give one of them"),
        ] {
            let run = try await FanoutBinary.run(["run", "."] + flags + ["--", "true"])
            #expect(run.status == 64 && run.stderr.contains(message), "\(flags): \(run.stderr)")
        }
        let help = try await FanoutBinary.run(["run", "--help"])
        #expect(help.stdout.contains("--fail-fast") && help.stdout.contains("--halt <now|soon,fail=N>"))
    }

    @Test func haltSoonStartsNothingMoreAndLetsTheRunningFilesFinish() async throws {
        try await withTemporaryDirectory { root in
            let files = Dictionary(uniqueKeysWithValues: (0..<8).map { (String(format: "%02d.txt", $0), "\($0)\n") })
                .merging(["bad.txt": String(repeating: "x", count: 4096) + "\n"]) { first, _ in first }
            let (input, environment) = try input(files, under: root)
            let marks = root.appendingPathComponent("marks")
            try FileManager.default.createDirectory(at: marks, withIntermediateDirectories: true)
            // Each file marks its start and, a moment later, its end; bad.txt fails at once. A shard a file, two
            // at a time; bad.txt, the largest file, is planned into the first shard.
            let script = "touch \(marks.path)/{/}.started; case {/} in bad.txt) exit 7;; esac; sleep 1; "
                + "touch \(marks.path)/{/}.finished; cat {}"
            let run = try await FanoutBinary.run(
                ["run", input, "-j", "2", "--files-per-shard", "1", "--halt", "soon,fail=1", "-q", "--", "sh", "-c",
                 script], environment: environment)
            #expect(run.status == 1, "\(run.stderr)")
            #expect(run.stderr.contains("started nothing more and stopped once its running shards had finished"),
                "\(run.stderr)")
            let names = try FileManager.default.contentsOfDirectory(atPath: marks.path)
            let started = Set(names.filter { $0.hasSuffix(".started") }.map { $0.dropLast(".started".count) })
            let finished = Set(names.filter { $0.hasSuffix(".finished") }.map { $0.dropLast(".finished".count) })
            #expect(started.contains("bad.txt") && started.count < 9, "nothing more started: \(names)")
            #expect(started.subtracting(["bad.txt"]) == finished, "every file that started finished: \(names)")
            let status = try await FanoutBinary.run(["runs"], environment: environment)
            #expect(status.stdout.contains("unfinished"), "`fanout attach` can finish it: \(status.stdout)")
        }
    }
}

/// A word as a POSIX shell reads it back.
enum ShellQuote {
    static func word(_ word: String) -> String { "'" + word.replacingOccurrences(of: "'", with: #"'\''"#) + "'" }
}
