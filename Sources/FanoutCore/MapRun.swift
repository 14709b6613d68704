import Foundation
import Synchronization

/// A run of a map step: its results as they arrive, in any order, each file exactly once.
///
/// Iterating starts the shards on the backend; iterate once. A file that fails is an outcome like any other
/// (``FileOutcome/failure``): the sequence ends normally once every file has its outcome, however many failed, and
/// ``checkTolerance(_:)`` then says whether the run succeeded (``aggregate(_:)`` checks it for you):
///
/// ```swift
/// var total = 0
/// for try await outcome in run { total += outcome.value ?? 0 }
/// print(total)                    // the good files' total, printed whatever failed
/// try run.checkTolerance()        // throws RunError(.tooManyFailures) listing the failed files
/// ```
///
/// Iterating throws only when the run itself did not work: its store cannot be read, its state is damaged or was
/// tampered with, its lease was lost, the backend could not run it, or a ``FailureTolerance/count(_:)`` tolerance
/// was exceeded and the run stopped before its other files (``RunError/Code/tooManyFailures``). Results are handed
/// over one at a time, so a slow consumer slows the workers instead of filling memory. Cancelling the iterating
/// task stops the workers and leaves the stored state ready for ``Fanout/attach(_:runID:state:)``.
public struct MapRun<Output: Codable & Sendable>: AsyncSequence, Sendable {
    public typealias Element = FileOutcome<Output>

    let prepared: PreparedRun
    let options: RunOptions
    let replayOnly: Bool
    private let finished = SummaryBox()

    init(prepared: PreparedRun, options: RunOptions, replayOnly: Bool = false) {
        self.prepared = prepared
        self.options = options
        self.replayOnly = replayOnly
    }

    /// The run's id, for `attach`, `status` and the state layout.
    public var id: String { prepared.spec.runID }

    /// The state prefix the run is stored under.
    public var stateLocation: String { prepared.stateLocation }
    /// The SHA-256 of the run's stored spec (``RunDigest``), which pins what the run executes.
    public var digest: String { prepared.digest }

    /// Files in the run, cached ones included.
    public var fileCount: Int { prepared.spec.fileCount }

    /// Shards planned for this run (cached files are in none).
    public var shardCount: Int { prepared.spec.shardCount }

    /// Gives up this process's hold on the run before another process drives it (a detached run's driver).
    public func releaseLease() async {
        await prepared.lease?.release()
    }

    /// How the run went; `nil` until the results have been read to the end.
    public var summary: RunSummary? { finished.value }

    public func makeAsyncIterator() -> AsyncIterator {
        let channel = OutcomeQueue<FileOutcome<Output>>()
        let driver = RunDriver<Output>(
            prepared: prepared, options: options, channel: channel, summary: finished, replayOnly: replayOnly)
        let task = Task { await driver.drive() }
        return AsyncIterator(base: channel, lifetime: TaskLifetime(task: task))
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let base: OutcomeQueue<FileOutcome<Output>>
        let lifetime: TaskLifetime

        /// The next outcome. When the calling task is cancelled, the run stops, and this returns (throwing) only
        /// once its backend has stopped its workers and cleaned up (deleted its Jobs, say), so a program that
        /// exits next leaves nothing running.
        /// - Throws: `CancellationError` when the calling task was cancelled: a cancelled run never looks finished.
        public mutating func next() async throws -> FileOutcome<Output>? {
            try await next(isolation: nil)
        }

        /// ``next()`` on the caller's executor: a consumer on an actor (the main actor of a script) takes each
        /// outcome without hopping off it and back.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> FileOutcome<Output>? {
            let outcome: FileOutcome<Output>?
            do {
                outcome = try await withTaskCancellationHandler {
                    try await base.next(isolation: actor)
                } onCancel: { [lifetime] in
                    lifetime.task.cancel()
                }
            } catch {
                if Task.isCancelled { await lifetime.task.value }
                throw error
            }
            if outcome == nil, Task.isCancelled {
                await lifetime.task.value
                throw CancellationError()
            }
            return outcome
        }
    }

    /// The successful values, skipping failures; call ``checkTolerance(_:)`` after the last one to know whether
    /// the failures were within the run's tolerance.
    public func values() -> AsyncThrowingCompactMapSequence<MapRun<Output>, Output> {
        compactMap { $0.value }
    }

    /// Folds every successful value into `aggregator` and returns its result, once the run's failures are known to
    /// be within its tolerance.
    /// - Throws: ``RunError`` when the run did not work, or with code ``RunError/Code/tooManyFailures`` when more
    ///   files failed than ``RunOptions/tolerance`` allows (iterate the run yourself to fold the good files anyway).
    public func aggregate<A: Aggregator>(_ aggregator: A) async throws -> A.Result where A.Value == Output {
        var aggregator = aggregator
        for try await outcome in self {
            if let value = outcome.value { aggregator.add(value) }
        }
        try checkTolerance()
        return aggregator.result
    }

    /// Checks the finished run's failed files against its tolerance: call it after the last outcome.
    ///
    /// - Parameter tolerance: the failures to accept; default the run's ``RunOptions/tolerance``.
    /// - Returns: how the run went.
    /// - Throws: ``RunError`` with code ``RunError/Code/tooManyFailures``, listing the failed files, when more
    ///   failed than tolerated; with code ``RunError/Code/invalidInput`` when the outcomes have not been read to the
    ///   end yet.
    @discardableResult
    public func checkTolerance(_ tolerance: FailureTolerance? = nil) throws(RunError) -> RunSummary {
        guard let summary else {
            throw RunError(
                code: .invalidInput,
                message: "run \(id) has not been read to the end: iterate its outcomes before checking its tolerance")
        }
        let tolerance = tolerance ?? options.tolerance
        guard tolerance.allows(failed: summary.failed, total: summary.files) else {
            throw RunError(
                code: .tooManyFailures,
                message: "\(summary.failed) of \(summary.files) file\(summary.files == 1 ? "" : "s") failed, more than "
                    + "the run tolerates "
                    + "(\(tolerance)); raise the tolerance or fix the failing files, then re-run "
                    + "(stored results are reused)",
                failedFiles: summary.failures.map { ($0.key, $0.message) })
        }
        return summary
    }
}

/// Cancels the driving task when the last iterator copy is gone.
final class TaskLifetime: Sendable {
    let task: Task<Void, Never>

    init(task: Task<Void, Never>) { self.task = task }

    deinit { task.cancel() }
}

final class SummaryBox: Sendable {
    private let storage = Mutex<RunSummary?>(nil)

    var value: RunSummary? { storage.withLock { $0 } }

    func set(_ summary: RunSummary) { storage.withLock { $0 = summary } }
}
