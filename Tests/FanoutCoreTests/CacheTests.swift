import Foundation
import Testing
@testable import FanoutCore
import FanoutTestSteps
import FanoutTestSupport

@Suite struct CacheTests {
    @Test func rerunReusesUnchangedFilesOnly() async throws {
        let corpus = try Corpus.make(count: 40, extra: ["bad.txt": "z"])
        defer { corpus.remove() }
        let fanout = Fanout(options: RunOptions(tolerance: .count(1)))
        _ = try await collect(try await fanout.map(TestSteps.failOnBad, over: Input(corpus.path)))

        // Change one file, add one; the failed file is recomputed, not cached.
        try await Task.sleep(for: .milliseconds(20))
        try Data("changed".utf8).write(to: corpus.root.appendingPathComponent("f00007.txt"))
        try Data("new".utf8).write(to: corpus.root.appendingPathComponent("new.txt"))
        let second = try await fanout.map(TestSteps.failOnBad, over: Input(corpus.path))
        let outcomes = try await collect(second)
        #expect(outcomes.count == 42)
        let recomputed = Set(outcomes.values.filter { !$0.cached }.map(\.key))
        #expect(recomputed == ["f00007.txt", "new.txt", "bad.txt"])
        #expect(second.summary?.cached == 39)

        // A third run builds on the second: everything but the failure is cached.
        let third = try await fanout.map(TestSteps.failOnBad, over: Input(corpus.path))
        _ = try await collect(third)
        #expect(third.summary?.cached == 41)
    }

    @Test func aNewStepVersionRecomputes() async throws {
        let corpus = try Corpus.make(count: 10)
        defer { corpus.remove() }
        _ = try await collect(try await Fanout().map(TestSteps.byteCount, over: Input(corpus.path)))
        let bumped = MapStep("byte-count", version: "2") { file in try await file.bytes().count }
        let run = try await Fanout().map(bumped, over: Input(corpus.path))
        _ = try await collect(run)
        #expect(run.summary?.cached == 0)
    }

    /// A file rewritten after the listing and before its read is never stored under the listed version: its read
    /// fails with the reason, and the next run computes it from what it holds now.
    @Test func aFileChangedAfterListingIsFailedNotCachedStale() async throws {
        try await withTemporaryDirectory { root in
            try Data("a\n".utf8).write(to: root.appendingPathComponent("a.txt"))
            try Data("b\nb\n".utf8).write(to: root.appendingPathComponent("b.txt"))
            let changer = MapStep("line-count-changing-b", version: "1") { file in
                if file.name == "a.txt" {
                    // a.txt runs first (one file in flight): it rewrites b.txt after the listing.
                    try Data("b\nb\nb\nb\nb\n".utf8).write(to: root.appendingPathComponent("b.txt"))
                }
                return try await file.text().split(separator: "\n").count
            }
            let options = RunOptions(
                backend: InProcessBackend(parallelism: 1, filesPerShardInFlight: 1), tolerance: .count(1))
            let first = try await collect(try await Fanout(options: options).map(changer, over: Input(root.path)))
            #expect(first["a.txt"]?.value == 1)
            let failure = try #require(first["b.txt"]?.failure, "\(String(describing: first["b.txt"]))")
            #expect(failure.message.contains("changed after it was listed"), "\(failure)")

            let second = try await collect(try await Fanout(options: options).map(changer, over: Input(root.path)))
            #expect(second["b.txt"]?.value == 5, "the new content, never the listed version's")
            #expect(second["a.txt"]?.cached == true)
        }
    }
}
