import FanoutTestSteps
import FanoutTestSupport
import Foundation
import Synchronization
import Testing

@testable import FanoutCore

/// Backup attempts for stragglers, on the backends that run in this machine's processes.
@Suite(.serialized) struct BackupAttemptTests {
    /// A step whose calls on the file `slowKey` wait until cancelled (counting them) for the first `slowCalls`
    /// calls; every other call returns 1 at once.
    final class Straggler: Sendable {
        let slowKey: String
        let slowCalls: Int
        let calls = Mutex(0)
        let cancelled = Mutex(0)

        init(slowKey: String, slowCalls: Int) {
            self.slowKey = slowKey
            self.slowCalls = slowCalls
        }

        var step: MapStep<Int> {
            MapStep("straggler-\(slowCalls)", version: UUID().uuidString) { [self] file in
                guard file.key == slowKey else { return 1 }
                let call = calls.withLock { calls in
                    calls += 1
                    return calls
                }
                guard call <= slowCalls else { return 1 }
                do {
                    try await Task.sleep(for: .seconds(120))
                } catch {
                    cancelled.withLock { $0 += 1 }
                    throw error
                }
                return 1
            }
        }
    }

    @Test func inProcessAStragglerIsOvertakenByItsBackupAndEveryFileCountsOnce() async throws {
        let corpus = try Corpus.make(count: 16)
        defer { corpus.remove() }
        let straggler = Straggler(slowKey: "f00003.txt", slowCalls: 1)
        let options = RunOptions(
            backend: InProcessBackend(parallelism: 4, filesPerShardInFlight: 1), sharding: .filesPerShard(1),
            cache: false)
        let run = try await Fanout(options: options, environment: ["XDG_STATE_HOME": corpus.state])
            .map(straggler.step, over: Input(corpus.path))
        let outcomes = try await collect(run)
        #expect(outcomes.count == 16 && outcomes.values.allSatisfy { $0.value == 1 }, "\(outcomes)")
        #expect(outcomes["f00003.txt"]?.attempt == 2, "the backup's result")
        #expect(straggler.cancelled.withLock { $0 } == 1, "the first attempt was cancelled once the backup won")
        let history = try #require(run.summary?.shardHistories.values.first, "\(String(describing: run.summary))")
        #expect(history.contains("backup attempt 2 succeeded") && history.contains("attempt 1 cancelled"), "\(history)")
    }

    @Test func withBackupsOffTheStragglerIsWaitedFor() async throws {
        let corpus = try Corpus.make(count: 6)
        defer { corpus.remove() }
        let straggler = Straggler(slowKey: "f00001.txt", slowCalls: 1)
        var options = RunOptions(
            backend: InProcessBackend(parallelism: 3, filesPerShardInFlight: 1), sharding: .filesPerShard(1),
            cache: false)
        options.backups = nil
        let run = try await Fanout(options: options, environment: ["XDG_STATE_HOME": corpus.state])
            .map(straggler.step, over: Input(corpus.path))
        let consumer = Task { try await collect(run) }
        // Every other file is done and the straggler has had ample time for a backup, were backups on.
        while straggler.calls.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(20)) }
        try await Task.sleep(for: .seconds(2))
        #expect(straggler.calls.withLock { $0 } == 1, "no second attempt started")
        consumer.cancel()
        _ = try? await consumer.value
        #expect(straggler.cancelled.withLock { $0 } == 1)
    }

    @Test func cancellingARunStopsEveryAttemptBackupsIncluded() async throws {
        let corpus = try Corpus.make(count: 8)
        defer { corpus.remove() }
        let straggler = Straggler(slowKey: "f00002.txt", slowCalls: 2)
        let options = RunOptions(
            backend: InProcessBackend(parallelism: 4, filesPerShardInFlight: 1), sharding: .filesPerShard(1),
            cache: false)
        let run = try await Fanout(options: options, environment: ["XDG_STATE_HOME": corpus.state])
            .map(straggler.step, over: Input(corpus.path))
        let consumer = Task { try await collect(run) }
        // Both the first attempt and its backup are stuck on the file.
        while straggler.calls.withLock({ $0 }) < 2 { try await Task.sleep(for: .milliseconds(20)) }
        consumer.cancel()
        await #expect(throws: CancellationError.self) { _ = try await consumer.value }
        #expect(straggler.cancelled.withLock { $0 } == 2, "the run ended only once both attempts had stopped")
    }

    @Test func workerProcessesAStragglingWorkerIsOvertakenAndStopped() async throws {
        let corpus = try Corpus.make(count: 12, extra: ["straggler.txt": "slow"])
        defer { corpus.remove() }
        let exits = Mutex<[AttemptID: AttemptExit]>([:])
        var options = RunOptions(
            backend: try TestWorker.backend(workers: 3), sharding: .filesPerShard(1), cache: false)
        options.onEvent = { event in
            if case .attempt(.exited(let id, let exit)) = event { exits.withLock { $0[id] = exit } }
        }
        let run = try await Fanout(options: options, environment: ["XDG_STATE_HOME": corpus.state])
            .map(TestSteps.firstAttemptStraggles, over: Input(corpus.path))
        let outcomes = try await collect(run)
        #expect(outcomes.count == 13 && outcomes.values.allSatisfy { $0.value == 1 }, "\(outcomes)")
        #expect(outcomes["straggler.txt"]?.attempt == 2, "the backup's result")
        // The losing worker was stopped before the run ended: the backend reports a cancelled attempt only once its
        // process has exited.
        let ended = exits.withLock { $0 }
        let wonByBackups = ended.filter { $0.key.number == 2 && $0.value == .succeeded }.map(\.key.shard)
        #expect(!wonByBackups.isEmpty)
        #expect(wonByBackups.allSatisfy { ended[AttemptID(shard: $0, number: 1)] == .cancelled }, "\(ended)")
        #expect(run.summary?.shardHistories.values.contains { $0.contains("backup attempt 2 succeeded") } == true)
    }
}

/// A step that crashes its worker process on one file.
@Suite(.serialized) struct CrashingStepTests {
    @Test func aFileThatCrashesTheWorkerFailsWithTheCrashAndTheOthersOfItsShardStillRun() async throws {
        let corpus = try Corpus.make(count: 6, extra: ["crash-me.txt": "x"])
        defer { corpus.remove() }
        let options = RunOptions(
            backend: try TestWorker.backend(workers: 1), sharding: .shards(1), cache: false, tolerance: .count(1))
        let run = try await Fanout(options: options, environment: ["XDG_STATE_HOME": corpus.state])
            .map(TestSteps.crashOnSome, over: Input(corpus.path))
        let outcomes = try await collect(run)
        #expect(outcomes.count == 7)
        #expect(outcomes.values.filter { $0.value == 1 }.count == 6, "the other files of the shard ran: \(outcomes)")
        let failure = try #require(outcomes["crash-me.txt"]?.failure?.message)
        #expect(failure.contains("the step crashed the worker on this file"), "\(failure)")
        #expect(failure.contains("Fatal error: cannot digest crash-me.txt"), "\(failure)")
        #expect(run.summary?.shardHistories[0]?.contains("crashed") == true, "\(String(describing: run.summary))")

        // `fanout logs` and `fanout status` name the file that crashed the worker.
        var environment = try FanoutBinary.environment()
        environment["XDG_STATE_HOME"] = corpus.state
        let logs = try await FanoutBinary.run(["logs", run.id, "--state", run.stateLocation], environment: environment)
        #expect(logs.stdout.contains("==> crash-me.txt (shard 0"), "\(logs.stdout)")
        #expect(logs.stdout.contains("cannot digest crash-me.txt"), "\(logs.stdout)")
        let status = try await FanoutBinary.run(["status", run.id, "--state", run.stateLocation], environment: environment)
        #expect(status.stdout.contains("failed     crash-me.txt: the step crashed the worker on this file"),
            "\(status.stdout)")
        #expect(status.stdout.contains("crashed"), "the shard's history: \(status.stdout)")
    }
}
