import FanoutHTTP
import FanoutTestSteps
import Foundation
import Synchronization
import Testing

@testable import FanoutCore

/// Restarted shard attempts back off with jitter; randomness injected, so the delays are exact.
@Suite struct ShardBackoffTests {
    @Test func defaults() {
        let backoff = ShardBackoff()
        #expect(backoff.baseDelay == .seconds(1))
        #expect(backoff.maxDelay == .seconds(30))
        #expect(RunOptions().shardBackoff.maxDelay == .seconds(30))
    }

    @Test func eachRestartWaitsAJitteredDoublingDelayUpToTheMaximum() {
        let backoff = ShardBackoff(baseDelay: .seconds(1), maxDelay: .seconds(3), random: { 0.5 })
        #expect((2...5).map { backoff.delay(beforeAttempt: $0) }
            == [.milliseconds(500), .seconds(1), .milliseconds(1500), .milliseconds(1500)])
    }

    @Test("A worker that exits 1 runs exactly its retries, each after the backoff the scheduler was given")
    func processBackendRunsEachRetryOfAFailingShard() async throws {
        let corpus = try Corpus.make(count: 3)
        defer { corpus.remove() }
        let failing = ProcessBackend(workers: 1, executable: "/bin/false", arguments: [])
        let options = RunOptions(
            backend: failing, sharding: .shards(1), tolerance: .fraction(1), retries: 2,
            shardBackoff: ShardBackoff(baseDelay: .milliseconds(100), maxDelay: .seconds(1), random: { 1 }))
        let run = try await Fanout(options: options).map(TestSteps.byteCount, over: Input(corpus.path))
        let outcomes = try await collect(run)
        #expect(outcomes.values.allSatisfy { $0.failure?.message.contains("(attempt 3)") == true }, "\(outcomes)")
        #expect(outcomes.values.allSatisfy { $0.failure?.message.contains("failed 3 times, 2 retries allowed") == true })
    }
}
