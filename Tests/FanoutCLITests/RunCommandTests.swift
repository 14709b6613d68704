import FanoutTestSupport
import FanoutStorage
import Foundation
import Testing

/// `fanout run` and the run-management commands, through the built binary.
@Suite(.serialized) struct RunCommandTests {
    /// A folder with `count` files `n-000.txt`... holding `i + 1` lines each, plus any extra files.
    func corpus(_ folder: URL, count: Int, extra: [String: String] = [:]) throws {
        for index in 0..<count {
            let text = String(repeating: "x\n", count: index + 1)
            try Data(text.utf8).write(to: folder.appendingPathComponent(String(format: "n-%03d.txt", index)))
        }
        for (name, text) in extra {
            let url = folder.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
    }

    @Test func sumCountAndLinesOverAFolder() async throws {
        try await withTemporaryDirectory { folder in
            try corpus(folder, count: 30)
            let sum = try await FanoutBinary.run(["run", folder.path, "--reduce", "sum", "-q", "--", "wc", "-l", "{}"])
            #expect(sum.status == 0, "\(sum.stderr)")
            #expect(sum.stdout == "\((1...30).reduce(0, +))\n")

            let count = try await FanoutBinary.run(["run", folder.path, "--reduce", "count", "-q", "--no-cache", "--", "true"])
            #expect(count.stdout == "30\n")

            let lines = try await FanoutBinary.run(["run", folder.path, "-q", "--", "echo", "{name} {size}"])
            #expect(Set(lines.lines) == Set((0..<30).map { String(format: "n-%03d.txt %d", $0, 2 * ($0 + 1)) }))
            // Files that print nothing add no blank lines.
            let silent = try await FanoutBinary.run(["run", folder.path, "-q", "--", "true"])
            #expect(silent.stdout.isEmpty, "\(silent.stdout.debugDescription)")

            let concat = try await FanoutBinary.run(["run", folder.path, "--reduce", "concat", "-q", "--stdin", "--", "head", "-c", "2"])
            #expect(concat.stdout == String(repeating: "x\n", count: 30), "concat is in key order")
        }
    }

    @Test func jsonReducersAndEvents() async throws {
        try await withTemporaryDirectory { folder in
            try corpus(folder, count: 5)
            let script = #"printf '{"files": 1, "bytes": %s, "names": ["%s"]}' "$(wc -c < "$1")" "$2""#
            let merged = try await FanoutBinary.run([
                "run", folder.path, "--reduce", "merge-json", "-q", "--", "sh", "-c", script, "sh", "{}", "{name}",
            ])
            #expect(merged.status == 0, "\(merged.stderr)")
            let object = try JSONSerialization.jsonObject(with: Data(merged.stdout.utf8)) as? [String: Any]
            #expect(object?["files"] as? Int == 5)
            #expect(object?["bytes"] as? Int == (1...5).reduce(0) { $0 + 2 * $1 })
            #expect((object?["names"] as? [String])?.count == 5)

            let jsonl = try await FanoutBinary.run(["run", folder.path, "--reduce", "jsonl", "-q", "--", "sh", "-c", script, "sh", "{}", "{name}"])
            let keys = jsonl.lines.compactMap { line in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["key"] as? String
            }
            #expect(keys.sorted() == (0..<5).map { String(format: "n-%03d.txt", $0) })

            let events = try await FanoutBinary.run(["run", folder.path, "--reduce", "sum", "--json", "--", "wc", "-l", "{}"])
            let parsed = events.lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            #expect(parsed.first?["event"] as? String == "start")
            #expect(parsed.filter { $0["event"] as? String == "file" }.count == 5)
            let summary = parsed.last
            #expect(summary?["event"] as? String == "summary")
            #expect(summary?["result"] as? Double == 15)
        }
    }

    @Test func failuresGiveTheirExitStatus() async throws {
        try await withTemporaryDirectory { folder in
            try corpus(folder, count: 4, extra: ["bad.txt": "x"])
            let command = ["--", "sh", "-c", "case \"$1\" in *bad*) echo broken >&2; exit 7;; esac; echo ok", "sh", "{}"]
            let strict = try await FanoutBinary.run(["run", folder.path, "-q", "--reduce", "count"] + command)
            #expect(strict.status == 1)
            #expect(strict.stderr.contains("1 of 5 files failed"))
            #expect(strict.stderr.contains("bad.txt"))
            #expect(strict.stderr.contains("broken"), "the command's stderr tail is kept")

            let tolerant = try await FanoutBinary.run(["run", folder.path, "-q", "--reduce", "count", "--tolerate-failures", "20%"] + command)
            #expect(tolerant.status == 3, "partial failure")
            #expect(tolerant.stdout == "4\n")
        }
    }

    @Test func resultsStatusAndRunsTellAFailedRunAsFailed() async throws {
        try await withTemporaryDirectory { root in
            let folder = root.appendingPathComponent("in")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try corpus(folder, count: 4, extra: ["bad.txt": "x"])
            let state = root.appendingPathComponent("state").path + "/"
            let command = ["--", "sh", "-c", "case \"$1\" in *bad*) exit 7;; esac; echo 1", "sh", "{}"]
            func runID(_ result: FanoutBinary.Result) -> String? {
                result.lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                    .first?["run"] as? String
            }
            let strict = try await FanoutBinary.run(
                ["run", folder.path, "--state", state, "--json", "--reduce", "sum"] + command)
            #expect(strict.status == 1)
            let strictID = try #require(runID(strict), "\(strict.stdout)")
            let tolerant = try await FanoutBinary.run(
                ["run", folder.path, "--state", state, "--json", "--no-cache", "--reduce", "sum",
                 "--tolerate-failures", "1"] + command)
            #expect(tolerant.status == 3)
            let tolerantID = try #require(runID(tolerant), "\(tolerant.stdout)")

            // results exits as the run did, with the run's reducer and tolerance unless told otherwise.
            let failed = try await FanoutBinary.run(["results", strictID, "--state", state])
            #expect(failed.status == 1, "\(failed.stderr)")
            let within = try await FanoutBinary.run(["results", tolerantID, "--state", state])
            #expect(within.status == 3, "\(within.stderr)")
            #expect(within.stdout == "4\n", "the run's own --reduce sum")
            let relaxed = try await FanoutBinary.run(
                ["results", strictID, "--state", state, "--tolerate-failures", "1", "--reduce", "count"])
            #expect(relaxed.status == 3 && relaxed.stdout == "4\n", "\(relaxed.stderr)")

            let runs = try await FanoutBinary.run(["runs", "--state", state])
            let strictLine = try #require(runs.lines.first { $0.hasPrefix(strictID) })
            #expect(strictLine.contains("failed") && strictLine.contains("sh -c"), "\(strictLine)")
            let status = try await FanoutBinary.run(["status", strictID, "--state", state])
            #expect(status.stdout.contains("status     failed"), "\(status.stdout)")
            #expect(status.stdout.contains("command    sh -c"), "\(status.stdout)")
        }
    }

    @Test func outputFileIsWrittenWholeOrNotAtAll() async throws {
        try await withTemporaryDirectory { folder in
            try corpus(folder, count: 3)
            let input = folder.appendingPathComponent("in")
            try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
            try corpus(input, count: 3)
            let output = folder.appendingPathComponent("result.txt").path
            let ok = try await FanoutBinary.run(["run", input.path, "-q", "--reduce", "sum", "-o", output, "--", "wc", "-l", "{}"])
            #expect(ok.status == 0)
            #expect(try String(contentsOfFile: output, encoding: .utf8) == "6\n")
            let failed = folder.appendingPathComponent("failed.txt").path
            let bad = try await FanoutBinary.run(["run", input.path, "-q", "-o", failed, "--", "false"])
            #expect(bad.status == 1)
            #expect(!FileManager.default.fileExists(atPath: failed))
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).allSatisfy { !$0.contains("partial") })

            // Output the reducer cannot take fails those files, within the tolerance like any failure.
            let unfit = folder.appendingPathComponent("unfit.txt").path
            let strict = try await FanoutBinary.run(["run", input.path, "-q", "--reduce", "sum", "-o", unfit, "--", "sh", "-c", "echo abc"])
            #expect(strict.status == 1, "\(strict.stderr)")
            #expect(strict.stderr.contains("'abc', which does not start with a number"), "\(strict.stderr)")
            #expect(!FileManager.default.fileExists(atPath: unfit), "nothing half-right is written")
            let lenient = try await FanoutBinary.run(
                ["run", input.path, "-q", "--reduce", "sum", "--tolerate-failures", "100%", "-o", unfit, "--", "sh", "-c", "echo abc"])
            #expect(lenient.status == 3, "\(lenient.stderr)")
            #expect(try String(contentsOfFile: unfit, encoding: .utf8) == "0\n")

            // A device is written in place, never replaced by a file (--json discards the fold through /dev/null).
            let fifo = folder.appendingPathComponent("fifo").path
            #expect(mkfifo(fifo, 0o600) == 0)
            let copy = folder.appendingPathComponent("from-fifo").path
            let reader = Task {
                try await runProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", "timeout 60 cat \"$0\" > \"$1\"", fifo, copy], environment: ["PATH": "/usr/bin:/bin"])
            }
            let piped = try await FanoutBinary.run(["run", input.path, "-q", "--reduce", "sum", "-o", fifo, "--", "wc", "-l", "{}"])
            #expect(piped.status == 0, "\(piped.stderr)")
            _ = try await reader.value
            #expect(try String(contentsOfFile: copy, encoding: .utf8) == "6\n")
            var fifoInfo = stat()
            #expect(stat(fifo, &fifoInfo) == 0 && fifoInfo.st_mode & S_IFMT == S_IFIFO, "the pipe is still a pipe")
            // A link to a file: the file gets the result, the link stays.
            let linked = folder.appendingPathComponent("linked.txt").path
            let link = folder.appendingPathComponent("link").path
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: linked)
            let viaLink = try await FanoutBinary.run(["run", input.path, "-q", "--reduce", "sum", "-o", link, "--", "wc", "-l", "{}"])
            #expect(viaLink.status == 0, "\(viaLink.stderr)")
            #expect(try String(contentsOfFile: linked, encoding: .utf8) == "6\n")
            #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == linked)
            let json = try await FanoutBinary.run(["run", input.path, "--json", "--", "wc", "-l", "{}"])
            #expect(json.status == 0, "\(json.stderr)")
            var info = stat()
            #expect(stat("/dev/null", &info) == 0 && info.st_mode & S_IFMT == S_IFCHR, "/dev/null is still a device")
            #expect(try FileManager.default.contentsOfDirectory(atPath: "/dev").allSatisfy { !$0.contains("partial") })
        }
    }

    @Test func badInputSaysWhatToDo() async throws {
        try await withTemporaryDirectory { folder in
            let noCommand = try await FanoutBinary.run(["run", folder.path])
            #expect(noCommand.status == 64)
            #expect(noCommand.stderr.contains("give the command after --"))

            let badTolerance = try await FanoutBinary.run(["run", folder.path, "--tolerate-failures", "lots", "--", "true"])
            #expect(badTolerance.status == 64)
            #expect(badTolerance.stderr.contains("--tolerate-failures"))

            let badBackend = try await FanoutBinary.run(["run", folder.path, "--backend", "cloud", "--", "true"])
            #expect(badBackend.status != 0)
            #expect(badBackend.stderr.contains("--backend"))

            let empty = try await FanoutBinary.run(["run", folder.path, "-q", "--reduce", "count", "--", "true"])
            #expect(empty.status == 1)
            #expect(empty.stderr.contains("the folder is empty") && empty.stderr.contains("--allow-empty"), "\(empty.stderr)")
            let allowed = try await FanoutBinary.run(
                ["run", folder.path, "-q", "--reduce", "count", "--allow-empty", "--", "true"])
            #expect(allowed.status == 0, "\(allowed.stderr)")
            #expect(allowed.stdout == "0\n")

            // Values too large for any clock or file are usage errors, not crashes.
            for arguments in [
                ["gc", "--older-than", "9999999999999999d", "--state", folder.path + "/"],
                ["run", folder.path, "--bytes-per-shard", "1e30TB", "--", "true"],
            ] {
                let huge = try await FanoutBinary.run(arguments)
                #expect(huge.status == 64, "\(arguments): \(huge.status) \(huge.stderr)")
            }

            // A program that is not there fails once, before anything runs.
            let typo = try await FanoutBinary.run(["run", folder.path, "--", "wcc", "-l", "{}"])
            #expect(typo.status == 64)
            #expect(typo.stderr.contains("cannot find wcc on PATH"), "\(typo.stderr)")
            #expect(!typo.stderr.contains("run 2"), "no run was started")

            let missing = try await FanoutBinary.run(["run", "s3://no-such-bucket-fanout/x/", "-q", "--", "true"])
            #expect(missing.status == 1)
            #expect(missing.stderr.contains("bucket does not exist"))
        }
    }

    @Test func s3InputWithWorkerProcessesAndRunManagement() async throws {
        let client = try makeS3Client()
        try await withTemporaryBucket(client: client) { bucket in
            for index in 0..<12 {
                try await client.putObject(
                    bucket: bucket, key: "logs/\(index).log", data: Data(String(repeating: "line\n", count: index).utf8))
            }
            try await withTemporaryDirectory { folder in
                // The state stays on this machine, in the user's state folder: nothing is written to the bucket,
                // and the run is found without --state.
                var environment = try FanoutBinary.environment()
                environment["XDG_STATE_HOME"] = folder.path
                environment["FANOUT_STATE"] = nil
                let run = try await FanoutBinary.run([
                    "run", "s3://\(bucket)/logs/", "--backend", "processes", "--workers", "2", "--shards", "3",
                    "--reduce", "sum", "--json", "--", "wc", "-l", "{}",
                ], environment: environment)
                #expect(run.status == 0, "\(run.stderr)")
                let summary = run.lines.last.flatMap {
                    try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
                }
                #expect(summary?["result"] as? Double == Double((0..<12).reduce(0, +)))
                let runID = try #require(summary?["run"] as? String)
                let keys = try await client.listObjects(bucket: bucket, prefix: "").collect().map(\.key)
                #expect(keys.allSatisfy { $0.hasPrefix("logs/") }, "only the input is in the bucket: \(keys)")

                let runs = try await FanoutBinary.run(["runs"], environment: environment)
                #expect(runs.stdout.contains(runID))
                let status = try await FanoutBinary.run(["status", runID, "--json"], environment: environment)
                let info = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
                #expect(info?["status"] as? String == "complete")
                #expect(info?["committedShards"] as? Int == 3)
                let results = try await FanoutBinary.run(
                    ["results", runID, "--reduce", "count"], environment: environment)
                #expect(results.stdout == "12\n")

                // A re-run reuses every stored result.
                let again = try await FanoutBinary.run(
                    ["run", "s3://\(bucket)/logs/", "--reduce", "sum", "--json", "--", "wc", "-l", "{}"],
                    environment: environment)
                let cached = again.lines.last.flatMap {
                    try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
                }
                #expect(cached?["cached"] as? Int == 12)

                let gc = try await FanoutBinary.run(["gc", "--older-than", "0s"], environment: environment)
                #expect(gc.stdout.contains("2 runs deleted"))
                #expect(try await FanoutBinary.run(["runs"], environment: environment).stdout.contains("no runs"))
            }
        }
    }

    @Test func dryRunPrintsThePlanAndRunsNothing() async throws {
        try await withTemporaryDirectory { folder in
            try corpus(folder, count: 10)
            let plan = try await FanoutBinary.run(["run", folder.path, "--dry-run", "--shards", "3", "--json", "--", "touch", "/tmp/should-not-exist-{name}"])
            let object = try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any]
            #expect(object?["files"] as? Int == 10)
            #expect(object?["shards"] as? Int == 3)
            #expect(!FileManager.default.fileExists(atPath: "/tmp/should-not-exist-n-000.txt"))
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent(".fanout").path))
        }
    }
}

