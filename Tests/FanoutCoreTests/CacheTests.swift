import Foundation
import Testing
@testable import FanoutCore
import FanoutTestSteps

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
}
