import Foundation
import Synchronization
import Testing
@testable import FanoutCore
import FanoutTestSteps

@Suite struct InProcessBackendTests {
    @Test func everyFileOnceWithItsValue() async throws {
        let corpus = try Corpus.make(count: 300)
        defer { corpus.remove() }
        let fanout = Fanout(options: RunOptions(sharding: .filesPerShard(40)))
        let run = try await fanout.map(TestSteps.byteCount, over: Input(corpus.path))
        #expect(run.shardCount == 8)
        let outcomes = try await collect(run)
        #expect(outcomes.mapValues { $0.value } == Corpus.expectedSizes(count: 300).mapValues { Optional($0) })
        #expect(Set(outcomes.values.map(\.ordinal)) == Set(0..<300))
        #expect(run.summary?.succeeded == 300)
        #expect(run.summary?.cached == 0)
    }

    @Test func stateIsKeptOutOfTheInputAndSegmentsAreBatched() async throws {
        let corpus = try Corpus.make(count: 50)
        defer { corpus.remove() }
        // Only the count cuts segments here: no flush by age, however slow the machine.
        let fanout = Fanout(
            options: RunOptions(
                sharding: .shards(2), state: corpus.state,
                batching: SegmentBatching(maxRecords: 10, maxDelay: .seconds(600))))
        let first = try await fanout.map(TestSteps.byteCount, over: Input(corpus.path))
        _ = try await collect(first)
        // A second run with the cache off sees the same 50 inputs, not the first run's state files.
        var options = fanout.options
        options.cache = false
        let second = try await Fanout(options: options).map(TestSteps.byteCount, over: Input(corpus.path))
        #expect(try await collect(second).count == 50)
        let segments = try FileManager.default.subpathsOfDirectory(atPath: corpus.state)
            .filter { $0.contains("runs/\(first.id)/segments/") && $0.hasSuffix(".jsonl") }
        #expect(segments.count == 6, "2 shards of 25 records, in batches of at most 10: \(segments)")
    }

    @Test func failuresAreResultsAndTheToleranceDecides() async throws {
        let corpus = try Corpus.make(count: 20, extra: ["bad-1.txt": "x", "bad-2.txt": "y"])
        defer { corpus.remove() }

        let strict = try await Fanout().map(TestSteps.failOnBad, over: Input(corpus.path))
        #expect(throws: RunError.self, "not read to the end yet") { try strict.checkTolerance() }
        // Failures are outcomes: the iteration ends normally, and the tolerance is checked afterwards.
        var seen = 0
        var total = 0
        for try await outcome in strict {
            seen += 1
            total += outcome.value ?? 0
        }
        #expect(seen == 22, "every file reports")
        #expect(total == 20, "the good files' values")
        let error = #expect(throws: RunError.self) { try strict.checkTolerance() }
        #expect(error?.code == .tooManyFailures)
        #expect(error?.failedFiles.map(\.key).sorted() == ["bad-1.txt", "bad-2.txt"])
        #expect(error?.description.contains("refusing bad-1.txt") == true)
        #expect(try strict.checkTolerance(.count(2)).failed == 2, "a tolerance given to the check wins")
        let aggregated = try await Fanout(options: RunOptions(cache: false)).map(
            TestSteps.failOnBad, over: Input(corpus.path))
        let aggregateError = await #expect(throws: RunError.self) { try await aggregated.aggregate(Sum<Int>()) }
        #expect(aggregateError?.code == .tooManyFailures, "aggregate hides failures, so it checks the tolerance")

        // A count tolerance stops the run once it is exceeded: files are left without an outcome, so the iteration
        // throws.
        let stopped = try await Fanout(options: RunOptions(cache: false, tolerance: .count(1))).map(
            TestSteps.failOnBad, over: Input(corpus.path))
        let stop = await #expect(throws: RunError.self) { _ = try await collect(stopped) }
        #expect(stop?.code == .tooManyFailures)
        #expect(stop?.message.contains("the run stopped before its other files") == true, "\(String(describing: stop))")

        let lenient = try await Fanout(options: RunOptions(tolerance: .count(2))).map(
            TestSteps.failOnBad, over: Input(corpus.path))
        let outcomes = try await collect(lenient)
        #expect(outcomes["bad-2.txt"]?.failure?.message == "refusing bad-2.txt")
        #expect(lenient.summary?.failed == 2)
        #expect(lenient.summary?.succeeded == 20)
    }

    @Test func filtersNarrowTheInput() async throws {
        let corpus = try Corpus.make(count: 10, extra: ["logs/a.log": "12345", "logs/b.log": "1", "skip.log": "xx"])
        defer { corpus.remove() }
        let filter = FileFilter(include: ["logs/*"], minSize: 2)
        let run = try await Fanout().map(TestSteps.byteCount, over: Input(corpus.path, filter: filter))
        let outcomes = try await collect(run)
        #expect(Array(outcomes.keys) == ["logs/a.log"])
        let excluded = try await Fanout().map(
            TestSteps.byteCount, over: Input(corpus.path, filter: FileFilter(exclude: ["*.txt"])))
        #expect(Set(try await collect(excluded).keys) == ["logs/a.log", "logs/b.log", "skip.log"])
    }

    @Test func aggregatorsFoldValues() async throws {
        let corpus = try Corpus.make(count: 100)
        defer { corpus.remove() }
        let run = try await Fanout().map(TestSteps.byteCount, over: Input(corpus.path))
        let total = try await run.aggregate(Sum<Int>())
        #expect(total == Corpus.expectedSizes(count: 100).values.reduce(0, +))
        var top = TopK<Int>(3) { Double($0) }
        for value in [5, 1, 9, 7, 3] { top.add(value) }
        #expect(top.result == [9, 7, 5])
        var histogram = Histogram(bounds: [10, 100])
        for value in [1.0, 10, 11, 500] { histogram.add(value) }
        #expect(histogram.result.map(\.count) == [2, 1, 1])
        var merged = MergeDictionaries<String, Int>.adding
        merged.add(["a": 1, "b": 2])
        merged.add(["a": 3])
        #expect(merged.result == ["a": 4, "b": 2])
    }

    @Test func explicitKeys() async throws {
        let corpus = try Corpus.make(count: 10)
        defer { corpus.remove() }
        let run = try await Fanout().map(
            TestSteps.byteCount, over: .files(["f00003.txt", "f00001.txt"], in: corpus.path))
        let outcomes = try await collect(run)
        #expect(outcomes.mapValues { $0.value } == ["f00001.txt": 2, "f00003.txt": 4])
    }
}

/// A backend whose workers never finish and whose clean-up after cancellation takes a while, as deleting a
/// cluster's Jobs does.
private final class SlowToCleanUpBackend: Backend {
    let cleanedUp = Mutex(false)
    var name: String { "slow-to-clean-up" }

    func serve(_ submission: Submission, attempts: AttemptQueue) async throws -> BackendReport {
        do {
            try await Task.sleep(for: .seconds(60))
        } catch {
            // The clean-up runs in a task of its own, which the cancellation does not cut short.
            await Task.detached { try? await Task.sleep(for: .milliseconds(300)) }.value
            cleanedUp.withLock { $0 = true }
            throw error
        }
        return BackendReport()
    }
}

@Suite struct CancellationTests {
    @Test func aCancelledConsumerReturnsOnlyOnceTheBackendHasCleanedUp() async throws {
        let corpus = try Corpus.make(count: 5)
        defer { corpus.remove() }
        let backend = SlowToCleanUpBackend()
        let run = try await Fanout(options: RunOptions(backend: backend)).map(
            TestSteps.byteCount, over: Input(corpus.path))
        let consumer = Task {
            var seen = 0
            for try await _ in run { seen += 1 }
            return seen
        }
        try await Task.sleep(for: .milliseconds(200))
        consumer.cancel()
        // A cancelled run never looks finished: the loop throws rather than ending.
        await #expect(throws: CancellationError.self) { _ = try await consumer.value }
        #expect(backend.cleanedUp.withLock { $0 })
    }
}

@Suite struct MissingResultsTests {
    @Test func aCommittedShardMissingResultsFailsThoseFilesInsteadOfDroppingThem() async throws {
        let corpus = try Corpus.make(count: 10)
        defer { corpus.remove() }
        let run = try await Fanout(
            options: RunOptions(state: corpus.state, batching: SegmentBatching(maxRecords: 5, maxDelay: .seconds(600))))
            .map(TestSteps.byteCount, over: Input(corpus.path))
        _ = try await collect(run)
        let folder = corpus.state + "v1/runs/\(run.id)/segments/shard-000000/"
        let segment = try #require(try FileManager.default.contentsOfDirectory(atPath: folder).sorted().first)
        try FileManager.default.removeItem(atPath: folder + segment)

        let attached = try await Fanout().attach(TestSteps.byteCount, runID: run.id, state: run.stateLocation)
        var outcomes: [FileOutcome<Int>] = []
        for try await outcome in attached { outcomes.append(outcome) }
        let error = #expect(throws: RunError.self) { try attached.checkTolerance() }
        #expect(error?.code == .tooManyFailures)
        #expect(outcomes.count == 10, "every file has an outcome")
        let failed = outcomes.filter { $0.failure != nil }
        #expect(failed.count == 5)
        #expect(failed.allSatisfy { $0.failure?.message.contains("ended without a result") == true })
    }

    @Test func deletedCarriedResultsAreAnErrorNotAShortRun() async throws {
        let corpus = try Corpus.make(count: 6)
        defer { corpus.remove() }
        let fanout = Fanout(options: RunOptions(state: corpus.state))
        _ = try await collect(try await fanout.map(TestSteps.byteCount, over: Input(corpus.path)))
        let second = try await fanout.map(TestSteps.byteCount, over: Input(corpus.path))
        _ = try await collect(second)
        #expect(second.summary?.cached == 6)
        try FileManager.default.removeItem(atPath: corpus.state + "v1/runs/\(second.id)/segments/carried")

        let attached = try await Fanout().attach(TestSteps.byteCount, runID: second.id, state: second.stateLocation)
        let error = await #expect(throws: RunError.self) { _ = try await collect(attached) }
        #expect(error?.code == .corruptState)
        #expect(error?.message.contains("6 of the run's 6 files") == true, "\(error?.message ?? "")")
    }
}

@Suite struct StateLocationTests {
    @Test(arguments: [".state/", "nested/deeper/state/"])
    func aStateFolderInsideTheInputIsNeverInput(state: String) async throws {
        let corpus = try Corpus.make(count: 5)
        defer { corpus.remove() }
        let options = RunOptions(state: corpus.path + state, cache: false)
        for _ in 0..<2 {
            let run = try await Fanout(options: options).map(TestSteps.byteCount, over: Input(corpus.path))
            let outcomes = try await collect(run)
            #expect(Set(outcomes.keys) == Set(Corpus.expectedSizes(count: 5).keys))
        }
    }
}

extension StateLocationTests {
    @Test func theDefaultStateIsTheUsersStateFolderNeverTheInput() async throws {
        let corpus = try Corpus.make(count: 3)
        defer { corpus.remove() }
        let home = corpus.state
        let fanout = Fanout(environment: ["XDG_STATE_HOME": home, "HOME": "/nonexistent"])
        let run = try await fanout.map(TestSteps.byteCount, over: Input(corpus.path))
        #expect(try await collect(run).count == 3)
        #expect(run.stateLocation == home + "/fanout/state/")
        #expect(try FileManager.default.contentsOfDirectory(atPath: corpus.path).sorted() == [
            "f00000.txt", "f00001.txt", "f00002.txt",
        ])
        #expect(FileManager.default.fileExists(atPath: home + "/fanout/state/v1/runs/\(run.id)/spec.json"))
    }

    /// A backend whose workers run on other machines; it must never be asked to run anything here.
    struct RemoteBackend: Backend {
        var name: String { "remote" }
        var needsSharedState: Bool { true }
        func check() async throws { Issue.record("checked before the state was") }
        func serve(_ submission: Submission, attempts: AttemptQueue) async throws -> BackendReport {
            Issue.record("executed")
            return BackendReport()
        }
    }

    @Test func aBackendWhoseWorkersRunElsewhereNeedsAStatePrefix() async throws {
        let corpus = try Corpus.make(count: 2)
        defer { corpus.remove() }
        let fanout = Fanout(
            options: RunOptions(backend: RemoteBackend()), environment: ["XDG_STATE_HOME": corpus.state])
        let error = await #expect(throws: RunError.self) {
            _ = try await fanout.map(TestSteps.byteCount, over: Input(corpus.path))
        }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains("FANOUT_STATE") == true, "\(error?.message ?? "")")
        #expect(!FileManager.default.fileExists(atPath: corpus.state), "nothing stored")
    }
}

@Suite struct PollingTests {
    @Test func theWaitBetweenLooksGrowsWithTheirCostAndIsBounded() {
        let base = Duration.milliseconds(250)
        #expect(RunDriver<Int>.pollInterval(base: base, lastLook: .milliseconds(10)) == base)
        #expect(RunDriver<Int>.pollInterval(base: base, lastLook: .seconds(1)) == .seconds(4))
        #expect(RunDriver<Int>.pollInterval(base: base, lastLook: .seconds(60)) == RunDriver<Int>.maxPollInterval)
        // A configured interval above the bound is kept.
        #expect(RunDriver<Int>.pollInterval(base: .seconds(60), lastLook: .zero) == .seconds(60))
    }
}

extension InProcessBackendTests {
    /// A step that never suspends still stops between files when its run is cancelled, and its shard never commits
    /// with files left undone.
    @Test func aCancelledRunStopsAStepThatNeverSuspendsAndCommitsNothing() async throws {
        let corpus = try Corpus.make(count: 2000)
        defer { corpus.remove() }
        let calls = Mutex(0)
        let step = MapStep("blocking-count", version: UUID().uuidString) { _ in
            calls.withLock { $0 += 1 }
            usleep(1000)  // a millisecond of work that never suspends
            return 1
        }
        let options = RunOptions(
            backend: InProcessBackend(parallelism: 1, filesPerShardInFlight: 1), sharding: .shards(1),
            state: corpus.state, cache: false)
        let run = try await Fanout(options: options).map(step, over: Input(corpus.path))
        let consumer = Task { try await collect(run) }
        while calls.withLock({ $0 }) < 20 { try await Task.sleep(for: .milliseconds(5)) }
        consumer.cancel()
        await #expect(throws: CancellationError.self) { try await consumer.value }
        #expect(calls.withLock { $0 } < 2000, "the loop stopped between files")
        let commits = (try? FileManager.default.contentsOfDirectory(atPath: corpus.state + "v1/runs/\(run.id)/commits")) ?? []
        #expect(commits.isEmpty, "\(commits)")
    }
}
