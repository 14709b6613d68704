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
}
