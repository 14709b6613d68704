import FanoutHTTP
import FanoutTestSteps
import Foundation
import Synchronization
import Testing

@testable import FanoutCore

/// Restarted shard attempts back off with jitter; time and randomness injected, so nothing sleeps.
@Suite struct ShardBackoffTests {
    /// A clock that records the waits asked of it and returns at once.
    final class RecordedSleeps: Sendable {
        let sleeps = Mutex<[Duration]>([])
        var all: [Duration] { sleeps.withLock { $0 } }
        var clock: RetryClock {
            RetryClock(now: { .zero }, sleep: { duration in self.sleeps.withLock { $0.append(duration) } })
        }
    }

    @Test func defaults() {
        let backoff = ShardBackoff()
        #expect(backoff.baseDelay == .seconds(1))
        #expect(backoff.maxDelay == .seconds(30))
        #expect(RunOptions().shardBackoff.maxDelay == .seconds(30))
    }

    @Test func theFirstAttemptStartsAtOnceAndEachRestartWaitsAJitteredDoublingDelay() async throws {
        let recorded = RecordedSleeps()
        let backoff = ShardBackoff(
            baseDelay: .seconds(1), maxDelay: .seconds(3), random: { 0.5 }, clock: recorded.clock)
        let attempts = Mutex<[Int]>([])
        let result = try await backoff.run(attempts: 5) { number in
            attempts.withLock { $0.append(number) }
            return "worker exited with status 1"
        }
        #expect(result == "worker exited with status 1")
        #expect(attempts.withLock { $0 } == [1, 2, 3, 4, 5])
        #expect(recorded.all == [.milliseconds(500), .seconds(1), .milliseconds(1500), .milliseconds(1500)])
    }

    @Test func aSucceedingAttemptEndsTheLoopWithoutWaiting() async throws {
        let recorded = RecordedSleeps()
        let backoff = ShardBackoff(random: { 1 }, clock: recorded.clock)
        let result = try await backoff.run(attempts: 3) { number in number == 2 ? nil : "failed" }
        #expect(result == nil)
        #expect(recorded.all == [.seconds(1)])
    }

    @Test("A worker that exits 1 is started again only after a backoff")
    func processBackendBacksOffBetweenAttempts() async throws {
        let corpus = try Corpus.make(count: 3)
        defer { corpus.remove() }
        let recorded = RecordedSleeps()
        let failing = ProcessBackend(workers: 1, executable: "/bin/false", arguments: [])
        let options = RunOptions(
            backend: failing, sharding: .shards(1), tolerance: .fraction(1), retries: 2,
            shardBackoff: ShardBackoff(
                baseDelay: .seconds(2), maxDelay: .seconds(60), random: { 1 }, clock: recorded.clock))
        let run = try await Fanout(options: options).map(TestSteps.byteCount, over: Input(corpus.path))
        let outcomes = try await collect(run)
        #expect(outcomes.values.allSatisfy { $0.failure?.message.contains("attempt 3") == true })
        #expect(recorded.all == [.seconds(2), .seconds(4)])
    }
}
