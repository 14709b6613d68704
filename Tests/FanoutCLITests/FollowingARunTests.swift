import FanoutTestSupport
import Foundation
import Testing

/// `fanout status RUN --watch` and `fanout logs RUN -f`: following a run driven in the background until it ends.
@Suite(.serialized) struct FollowingARunTests {
    /// A detached run over `count` files, each taking a moment, one at a time; `bad.txt` fails. With `gate`, no
    /// file runs before that file exists.
    func detachedRun(
        count: Int, under root: URL, tolerate: String = "1", gate: URL? = nil
    ) async throws -> (runID: String, environment: [String: String]) {
        let input = root.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        for index in 0..<count { try Data("\(index)\n".utf8).write(to: input.appendingPathComponent("\(index).txt")) }
        try Data("x\n".utf8).write(to: input.appendingPathComponent("bad.txt"))
        var environment = try FanoutBinary.environment()
        environment["XDG_STATE_HOME"] = root.path
        let detached = try await FanoutBinary.run(
            ["run", input.path, "--detach", "-j", "1", "--tolerate-failures", tolerate, "--", "sh", "-c",
             (gate.map { "while [ ! -e \($0.path) ]; do sleep 0.1; done; " } ?? "")
                + "sleep 0.5; case {/} in bad.txt) echo 'no number in here' >&2; exit 4;; esac; cat {}"],
            environment: environment)
        #expect(detached.status == 0, "\(detached.stderr)")
        return (detached.stdout.trimmingCharacters(in: .whitespacesAndNewlines), environment)
    }

    @Test func statusWatchShowsTheRunUntilItEndsAndExitsAsItDid() async throws {
        try await withTemporaryDirectory { root in
            let gate = root.appendingPathComponent("gate")
            let (runID, environment) = try await detachedRun(count: 5, under: root, gate: gate)
            let watching = try RunningFanout(["status", runID, "--watch", "--interval", "1s"], environment: environment)
            // The files run only once the watch has shown the run unfinished.
            for _ in 0..<1200 where !watching.standardOutput.contains("status     unfinished") {
                try await Task.sleep(for: .milliseconds(50))
            }
            try Data().write(to: gate)
            let watch = try await watching.wait()
            #expect(watch.status == 3, "one file failed, within the tolerance: \(watch.stderr)")
            let statuses = watch.lines.filter { $0.hasPrefix("status ") }
            #expect(statuses.first == "status     unfinished", "the run was shown while it ran: \(watch.stdout)")
            #expect(statuses.last == "status     complete", "\(watch.stdout)")
            #expect(watch.lines.contains("files      6/6 done, 1 failed"), "\(watch.stdout)")

            let json = try await FanoutBinary.run(["status", runID, "--watch", "--json"], environment: environment)
            #expect(json.status == 3)
            let objects = json.lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            #expect(objects.count == 1 && objects.first?["status"] as? String == "complete", "\(json.stdout)")

            let misuse = try await FanoutBinary.run(["status", runID, "--interval", "5s"], environment: environment)
            #expect(misuse.status == 64 && misuse.stderr.contains("--interval goes with --watch"), "\(misuse.stderr)")
        }
    }

    @Test func aWatchOnAFailedRunExitsOne() async throws {
        try await withTemporaryDirectory { root in
            let (runID, environment) = try await detachedRun(count: 1, under: root, tolerate: "0")
            let watch = try await FanoutBinary.run(["status", runID, "-w", "--interval", "1s"], environment: environment)
            #expect(watch.status == 1, "\(watch.stdout)")
            #expect(watch.lines.last { $0.hasPrefix("status ") } == "status     failed", "\(watch.stdout)")
        }
    }

    @Test func logsFollowShowsFailuresAndTheDriversLogAsTheyComeUntilTheRunEnds() async throws {
        try await withTemporaryDirectory { root in
            let (runID, environment) = try await detachedRun(count: 3, under: root)
            let follow = try await FanoutBinary.run(["logs", runID, "-f"], environment: environment)
            #expect(follow.status == 0, "\(follow.stderr)")
            #expect(follow.stdout.contains("==> bad.txt (shard 0, attempt 1) <=="), "\(follow.stdout)")
            #expect(follow.stdout.contains("no number in here"), "the command's standard error: \(follow.stdout)")
            #expect(follow.stdout.components(separatedBy: "==> bad.txt").count == 2, "each failure once: \(follow.stdout)")
            #expect(follow.stdout.contains("run \(runID)"), "the background driver's log: \(follow.stdout)")
            let status = try await FanoutBinary.run(["status", runID], environment: environment)
            #expect(status.stdout.contains("status     complete"), "logs -f returned once the run ended: \(status.stdout)")
        }
    }
}
