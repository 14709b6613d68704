import FanoutTestSupport
import Foundation
import Testing

/// `fanout logs` for runs on the local backends: the failed files' errors from the run state.
@Suite(.serialized) struct LogsCommandTests {
    func jsonLines(_ result: FanoutBinary.Result) -> [[String: Any]] {
        result.lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    @Test func failedFilesWithTheirStandardErrorByShard() async throws {
        try await withTemporaryDirectory { folder in
            let input = folder.appendingPathComponent("in")
            try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
            for name in ["a.txt", "b.txt", "bad-1.txt", "c.txt", "d.txt"] {
                try Data("\(name)\n".utf8).write(to: input.appendingPathComponent(name))
            }
            let state = folder.appendingPathComponent("state").path + "/"
            let script = #"case "$1" in *bad*) echo "cannot parse $1" >&2; exit 9;; esac; echo ok"#
            let run = try await FanoutBinary.run([
                "run", input.path, "--state", state, "--shards", "2", "--tolerate-failures", "1", "--json", "--",
                "sh", "-c", script, "sh", "{name}",
            ])
            #expect(run.status == 3, "\(run.stderr)")
            let runID = try #require(jsonLines(run).last?["run"] as? String)

            let text = try await FanoutBinary.run(["logs", runID, "--state", state])
            #expect(text.status == 0, "\(text.stderr)")
            #expect(text.stdout.contains("1 failed file"))
            #expect(text.stdout.contains("bad-1.txt"))
            #expect(text.stdout.contains("cannot parse bad-1.txt"), "the command's stderr tail")
            #expect(!text.stdout.contains("==> a.txt"))

            let json = try await FanoutBinary.run(["logs", runID, "--state", state, "--json"])
            let failures = jsonLines(json).filter { $0["type"] as? String == "failure" }
            #expect(failures.count == 1)
            #expect(failures.first?["key"] as? String == "bad-1.txt")
            #expect(failures.first?["attempt"] as? Int == 1)
            let shard = try #require(failures.first?["shard"] as? Int)

            let same = try await FanoutBinary.run(["logs", runID, "--state", state, "--shard", String(shard)])
            #expect(same.stdout.contains("cannot parse bad-1.txt"))
            let other = try await FanoutBinary.run(["logs", runID, "--state", state, "--shard", String(1 - shard)])
            #expect(other.status == 0)
            #expect(other.stdout.contains("shard \(1 - shard) of run \(runID): no failed files recorded"))

            let outOfRange = try await FanoutBinary.run(["logs", runID, "--state", state, "--shard", "7"])
            #expect(outOfRange.status == 64)
            #expect(outOfRange.stderr.contains("has 2 shards"))
        }
    }

    @Test func anUnknownRunSaysWhereItLooked() async throws {
        try await withTemporaryDirectory { folder in
            let state = folder.path + "/"
            let result = try await FanoutBinary.run(["logs", "20990101-000000-00000000", "--state", state])
            #expect(result.status == 1)
            #expect(result.stderr.contains("no run 20990101-000000-00000000 under \(state)"))
            #expect(result.stderr.contains("fanout runs --state"))
        }
    }
}
