import FanoutStorage
import FanoutHTTP
import Foundation
import Synchronization

/// Drives one run from the caller's process: replays stored results, starts the pending shards on the backend,
/// tails the segments workers write, de-duplicates by ordinal, and hands each file's outcome to the consumer.
final class RunDriver<Output: Codable & Sendable>: Sendable {
    private let prepared: PreparedRun
    private let options: RunOptions
    private let channel: OutcomeQueue<FileOutcome<Output>>
    private let summary: SummaryBox
    private let replayOnly: Bool
    private let progress = Mutex(Progress())
    /// Every attempt this driver launched, stored with the run when it ends (``AttemptRecord``).
    private let timeline = AttemptTimeline()
    /// This driver among those of the run: when it started, and a random part.
    private let driverName =
        "\(Int64((Date().timeIntervalSince1970 * 1000).rounded()))-\(UUID().uuidString.prefix(8).lowercased())"
    /// Stores each place the run drops (a fleet's cluster), for the commands that clean up after it.
    private let lostPlaces: LostPlaceRecorder
    /// The run's shard plans, checked against its spec.
    private let plans: ShardPlanReader
    /// Hears every event of the run: the timeline, the lost places, then the caller.
    private var observer: @Sendable (RunEvent) -> Void {
        { [timeline, lostPlaces, replayOnly, caller = options.onEvent] event in
            timeline.observe(event)
            if !replayOnly { lostPlaces.observe(event) }
            caller?(event)
        }
    }

    private struct Progress {
        var emitted = OrdinalSet()
        var seenSegments = Set<String>()
        var succeeded = 0
        var failed = 0
        var cached = 0
        var failures: [RunSummary.FailedFile] = []
        var abort: RunError?
        /// Why the run stops once its running attempts have finished (``RunOptions/Halt/soon``).
        var halting: RunError?
        var stopWatching = false
        /// The last error reading new results while workers run, reported once.
        var tailProblem: String?
        /// Why the backend stopped, when it threw.
        var backendError: (any Error)?
        /// Every shard below this one has committed and had all its segments read.
        var firstOpenShard = 0
        /// Shards at or above ``firstOpenShard`` known to be closed the same way.
        var closedShards = Set<Int>()
        /// Whether the results carried from an earlier run were read: they are stored before the run starts.
        var carriedRead = false
        /// Files each shard has stored in this run so far, for the scheduler.
        var storedPerShard: [Int: Int] = [:]
    }

    init(
        prepared: PreparedRun, options: RunOptions, channel: OutcomeQueue<FileOutcome<Output>>,
        summary: SummaryBox, replayOnly: Bool
    ) {
        self.replayOnly = replayOnly
        self.prepared = prepared
        self.options = options
        self.channel = channel
        self.summary = summary
        self.lostPlaces = LostPlaceRecorder(state: prepared.state, places: options.backend.places)
        self.plans = ShardPlanReader(state: prepared.state, spec: prepared.spec)
    }

    /// Drives the run while keeping its lease; a lost lease stops the run, leaving the workers to the new holder.
    /// The lease is released before the consumer hears that the run ended, so a program that exits next leaves the
    /// run free for the next driver.
    func drive() async {
        guard let lease = prepared.lease, !replayOnly else { return finish(with: await driveRun()) }
        // Each child says whether it was the lease keeper that ended.
        let failure = await withTaskGroup(of: (keeper: Bool, error: (any Error)?).self) { group in
            group.addTask {
                await lease.keep()
                return (true, nil)
            }
            group.addTask { (false, await self.driveRun()) }
            var failure: (any Error)?
            while let ended = await group.next() {
                if ended.keeper {
                    if let lost = lease.lostError { abort(with: lost) }
                } else {
                    failure = ended.error
                }
                group.cancelAll()
            }
            return failure
        }
        // Released even when the run was cancelled (Ctrl-C), so that it can be attached again at once.
        await Task { await lease.release() }.value
        finish(with: failure)
    }

    private func finish(with failure: (any Error)?) {
        if let failure {
            channel.fail(progress.withLock { $0.abort } ?? failure)
        } else {
            channel.finish()
        }
    }

    /// Drives the run to its end; the error that ended it, if any.
    private func driveRun() async -> (any Error)? {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            try await tail()
            let report: BackendReport
            do {
                report = try await runPendingShards()
            } catch {
                await storeTimeline()
                throw error
            }
            await storeTimeline()
            // A last look for results stored since the one before, unless every file already has its outcome (as
            // after a run whose backend handed every record over): then it could find only duplicates.
            if progress.withLock({ $0.emitted.count }) < prepared.spec.fileCount { try await tail() }
            try await failUnfinished(report)
            let accounted = try await failMissing()
            let complete = accounted && report.failedShards.isEmpty
            let result = progress.withLock { $0 }
            let summary = RunSummary(
                runID: prepared.spec.runID, files: prepared.spec.fileCount, succeeded: result.succeeded,
                failed: result.failed, cached: result.cached, failures: result.failures,
                shards: prepared.spec.shardCount, elapsedSeconds: (clock.now - start).inSeconds,
                controlPlaneRequests: report.apiRequests, shardHistories: report.shardHistories)
            self.summary.set(summary)
            if !replayOnly { try await record(summary, complete: complete) }
            guard accounted || replayOnly else {
                let missing = prepared.spec.fileCount - result.emitted.count
                throw RunError(
                    code: .corruptState,
                    message: "\(missing) of the run's \(prepared.spec.fileCount) files have neither a plan nor a "
                        + "stored result (carried-over results were deleted?); start a new run, which recomputes them")
            }
            // Failed files beyond the tolerance are outcomes the consumer has had: ``MapRun/checkTolerance(_:)``
            // says whether the run succeeded.
            return nil
        } catch {
            return progress.withLock { $0.abort } ?? error
        }
    }

    /// Runs the shards that have not committed: the scheduler decides each attempt and the backend runs it, while
    /// the results are tailed (unless the backend hands them over) and fed back to the scheduler as progress.
    private func runPendingShards() async throws -> BackendReport {
        guard !prepared.pendingShards.isEmpty else { return BackendReport() }
        let backend = options.backend
        let capabilities = backend.capabilities
        var onRecord: (@Sendable (Int, RecordLine) async -> Void)?
        if capabilities.handsRecordsOver {
            onRecord = { [self] shard, record in
                do {
                    try await emit(record, cached: false, shard: shard)
                } catch {
                    abort(with: error)
                }
            }
        }
        var draft = Submission(
            runID: prepared.spec.runID, stateLocation: prepared.stateLocation, stepName: prepared.step.name,
            shards: prepared.pendingShards, shardFileCounts: prepared.shardFileCounts,
            step: prepared.step, state: prepared.state, plans: plans, input: prepared.input, inputLocation: prepared.inputLocation,
            batching: options.batching,
            onRecord: onRecord)
        draft.onEvent = observer
        draft.runDigest = prepared.digest
        if let lease = prepared.lease { draft.ownsRun = { lease.holds } }
        let submission = draft
        let (inputs, feed) = AsyncStream.makeStream(of: AttemptScheduler.Input.self)
        let observer = observer
        let queue = AttemptQueue { event in
            observer(.attempt(event))
            feed.yield(.attempt(event))
        }
        let watcher = Task {
            do {
                try await self.watch(tailing: !capabilities.handsRecordsOver)
            } catch {
                // Kept before the backend is cancelled, so that its cancellation cannot stand in for this cause.
                if !(error is CancellationError) { self.abort(with: error) }
                throw error
            }
        }
        do {
            let report = try await withTaskCancellationHandler {
                try await withThrowingTaskGroup(of: BackendReport?.self) { group in
                    group.addTask {
                        do {
                            return try await backend.serve(submission, attempts: queue)
                        } catch {
                            // Kept, so that the watcher's cancellation error cannot stand in for it.
                            self.progress.withLock { $0.backendError = error }
                            feed.yield(.tick)
                            throw error
                        }
                    }
                    // Time passing, for backoffs and stragglers; stopped as soon as the scheduling ends, rather
                    // than at the end of its sleep.
                    let ticker = Task {
                        while !Task.isCancelled, case .enqueued = feed.yield(.tick) {
                            try? await Task.sleep(for: .milliseconds(200))
                        }
                    }
                    defer { ticker.cancel() }
                    let histories = try await schedule(submission, capabilities: capabilities, inputs: inputs, queue: queue)
                    ticker.cancel()
                    feed.finish()
                    queue.finish()
                    var report = BackendReport()
                    while let served = try await group.next() {
                        if let served { report.apiRequests = served.apiRequests }
                    }
                    // A cancelled run is not over: it never records a summary, and can be attached again.
                    try Task.checkCancellation()
                    report.failedShards = histories.failed
                    report.shardHistories = histories.notable
                    // Stop the watcher between two polls, never in the middle of handing results over.
                    progress.withLock { $0.stopWatching = true }
                    _ = try? await watcher.value
                    return report
                }
            } onCancel: {
                watcher.cancel()
            }
            if let abort = progress.withLock({ $0.abort ?? $0.halting }) { throw abort }
            return report
        } catch {
            watcher.cancel()
            if let abort = progress.withLock({ $0.abort }) { throw abort }
            if let backendError = progress.withLock({ $0.backendError }) { throw backendError }
            throw error
        }
    }

    /// Feeds the scheduler until every shard has succeeded or failed for good and no attempt is left, performing
    /// what it asks on the backend. A run stopped early (too many failures) cancels every attempt and waits for
    /// them; a backend that stopped working ends it at once.
    private func schedule(
        _ submission: Submission, capabilities: BackendCapabilities, inputs: AsyncStream<AttemptScheduler.Input>,
        queue: AttemptQueue
    ) async throws -> (failed: [Int: String], notable: [Int: String]) {
        let places = options.backend.places.map { place in
            AttemptScheduler.Place(
                name: place.name, slots: place.capabilities.slots,
                runsAttemptsSideBySide: place.capabilities.runsAttemptsSideBySide,
                memoryBytes: place.capabilities.memoryBytes, weight: place.weight,
                batchesLaunches: place.capabilities.batchesLaunches)
        }
        let backoff = options.shardBackoff
        var scheduler = AttemptScheduler(
            files: prepared.pendingShards.reduce(into: [:]) { $0[$1] = prepared.shardFileCounts[$1] ?? 0 },
            places: places.isEmpty ? [AttemptScheduler.Place(slots: capabilities.slots)] : places,
            policy: options.schedulingPolicy,
            backoff: { failures in backoff.delay(beforeAttempt: failures + 1).inSeconds })
        let clock = ContinuousClock()
        let start = clock.now
        var stored: [Int: Int] = [:]
        var stopping = false
        func perform(_ actions: [AttemptScheduler.Action]) {
            for action in actions {
                switch action {
                case .launch(let launches):
                    for launch in launches { observer(.launched(launch)) }
                    queue.send(.launch(launches))
                case .cancel(let ids): queue.send(.cancel(ids))
                case .notice(let text): options.onEvent?(.notice(text))
                }
            }
        }
        perform(scheduler.handle(.tick, now: 0))
        for await input in inputs {
            let now = (clock.now - start).inSeconds
            let (aborted, halting, backendFailed, current) = progress.withLock {
                ($0.abort != nil, $0.halting != nil, $0.backendError != nil, $0.storedPerShard)
            }
            if backendFailed { break }
            if aborted && !stopping {
                stopping = true
                perform(scheduler.cancelAll())
            } else if halting && !stopping {
                stopping = true
                perform(scheduler.drain())
            }
            if case .tick = input {
                for (shard, count) in current where stored[shard] != count {
                    stored[shard] = count
                    perform(scheduler.handle(.progress(shard: shard, filesStored: count), now: now))
                }
            }
            perform(scheduler.handle(input, now: now))
            if scheduler.isFinished { break }
        }
        return (scheduler.failedShards, scheduler.shardHistories)
    }

    /// Until asked to stop: tails remote workers' results, and stops the run once too many files failed.
    ///
    /// A look lists the open shards' commits and segments, then reads the new segments: the wait between looks
    /// grows to four times the last look's listing (at most ``maxPollInterval``), which keeps the store's load from
    /// listing at about a quarter of one listing stream however large the run grows. Reading new results is not
    /// counted: it is the run's progress, and waiting longer would only leave more of it to read at the end.
    private func watch(tailing: Bool) async throws {
        var interval = tailing ? options.pollInterval : .milliseconds(100)
        var waited = Duration.zero
        while !progress.withLock({ $0.stopWatching }) {
            try await Task.sleep(for: .milliseconds(20))
            waited += .milliseconds(20)
            if let abort = progress.withLock({ $0.abort }) { throw abort }
            if waited >= interval {
                waited = .zero
                if tailing {
                    let listing = try await tailTolerating()
                    interval = Self.pollInterval(base: options.pollInterval, lastLook: listing)
                }
            }
        }
    }

    /// The longest wait between two looks for new results.
    static var maxPollInterval: Duration { .seconds(30) }

    /// The wait before the next look: the configured interval, or four times the last look when that is longer.
    static func pollInterval(base: Duration, lastLook: Duration) -> Duration {
        min(max(base, lastLook * 4), max(base, maxPollInterval))
    }

    /// ``tail()`` while workers run: a store that cannot be read for a while (after the client's own retries) is
    /// reported and tried again at the next poll, rather than stopping healthy workers; the last tail after the
    /// workers end still throws. Damaged state and cancellation stop the run at once.
    /// - Returns: how long the look's listing took (zero when it could not be read).
    private func tailTolerating() async throws -> Duration {
        do {
            let listing = try await tail()
            progress.withLock { $0.tailProblem = nil }
            return listing
        } catch let error as RunError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            let message =
                "cannot read new results from the state store, trying again: \(SystemErrorText.reason(error))"
            let isNew = progress.withLock { progress in
                defer { progress.tailProblem = message }
                return progress.tailProblem != message
            }
            if isNew { options.onEvent?(.notice(message)) }
            return .zero
        }
    }

    /// Reads every segment not read yet and emits its records.
    ///
    /// Listings start at the first shard still open: shards below it have committed and had every segment read, so
    /// a long run's finished shards cost nothing more. The commits are listed before the segments: a shard stores
    /// all its segments before its commit, so segments listed after a commit was seen are all of that shard's.
    @discardableResult
    private func tail() async throws -> Duration {
        // Only the shards still open are listed: a look costs the same however many have finished.
        let (carried, ranges) = progress.withLock { progress in
            (!progress.carriedRead, OpenShardRanges.of(
                count: prepared.spec.shardCount, closed: progress.closedShards, firstOpen: progress.firstOpenShard))
        }
        let clock = ContinuousClock()
        let listed = clock.now
        let committed = try await prepared.state.committedShards(in: ranges)
        let keys = try await prepared.state.segmentKeys(in: ranges, carried: carried)
            .filter { key in !progress.withLock { $0.seenSegments.contains(key) } }
        let listing = clock.now - listed
        let carriedPrefix = prepared.state.layout.carriedPrefix
        // Segments are read several at a time and handed over in key order.
        try await withThrowingTaskGroup(of: (Int, [RecordLine]).self) { group in
            var next = 0
            var read: [Int: [RecordLine]] = [:]
            var handedOver = 0
            while handedOver < keys.count {
                while next < keys.count, next < handedOver + Self.segmentsReadAtOnce {
                    let (index, key) = (next, keys[next])
                    group.addTask { (index, try await self.prepared.state.readSegment(key)) }
                    next += 1
                }
                guard let (index, records) = try await group.next() else { break }
                read[index] = records
                while let records = read.removeValue(forKey: handedOver) {
                    let key = keys[handedOver]
                    progress.withLock { _ = $0.seenSegments.insert(key) }
                    let shard = prepared.state.layout.shard(ofKey: key)
                    for record in records {
                        try await emit(record, cached: key.hasPrefix(carriedPrefix), shard: shard)
                    }
                    handedOver += 1
                }
            }
        }
        progress.withLock { progress in
            progress.carriedRead = true
            progress.closedShards.formUnion(committed)
            while progress.closedShards.remove(progress.firstOpenShard) != nil { progress.firstOpenShard += 1 }
        }
        return listing
    }

    /// Segments a look reads at once.
    static var segmentsReadAtOnce: Int { 8 }

    /// Hands one record to the consumer unless its file already has a result.
    private func emit(_ record: RecordLine, cached: Bool, shard: Int? = nil) async throws {
        // A file already given out (read again from its segment, or stored twice by two attempts) is skipped
        // before anything else of its record is decoded.
        if let ordinal = record.ordinal, progress.withLock({ $0.emitted.contains(ordinal) }) { return }
        let outcome = try Self.outcome(of: record, cached: cached)
        let isNew = progress.withLock { progress -> Bool in
            guard progress.emitted.insert(outcome.ordinal) else { return false }
            if let failure = outcome.failure {
                progress.failed += 1
                if progress.failures.count < 100 {
                    progress.failures.append(.init(key: outcome.key, message: failure.message))
                }
                if progress.abort == nil, progress.halting == nil, case .count = options.tolerance,
                    !options.tolerance.allows(failed: progress.failed, total: prepared.spec.fileCount)
                {
                    switch options.halt {
                    case .now: progress.abort = tooManyFailures(progress)
                    case .soon: progress.halting = tooManyFailures(progress)
                    }
                }
            } else {
                progress.succeeded += 1
            }
            if cached { progress.cached += 1 }
            if let shard { progress.storedPerShard[shard, default: 0] += 1 }
            return true
        }
        guard isNew else { return }
        await channel.send(outcome)
    }

    /// The file's outcome a record tells: taken from the values it was made from when it was made in this process
    /// (``RecordLine/values``), else decoded from its bytes.
    private static func outcome(of record: RecordLine, cached: Bool) throws -> FileOutcome<Output> {
        if let values = record.values, values.failure != nil || values.value is Output {
            let file = values.file
            let result: Result<Output, FileFailure> =
                if let failure = values.failure { .failure(FileFailure(message: failure)) }
                else { .success(values.value as! Output) }
            return FileOutcome(
                key: file.key, ordinal: file.ordinal, etag: file.etag, size: file.size, result: result,
                attempt: values.run.attempt, duration: .milliseconds(Int64(values.run.seconds * 1000)),
                cached: cached, startedAt: values.run.startedMillis.map { Date(timeIntervalSince1970: Double($0) / 1000) },
                exit: values.run.exit)
        }
        if let outcome = RecordLineReader.outcome(of: record.bytes, as: Output.self, cached: cached) { return outcome }
        let decoded: TypedRecord<Output>
        do {
            decoded = try RecordCoding.decoder.decode(TypedRecord<Output>.self, from: Data(record.bytes))
        } catch {
            throw RunError(
                code: .corruptState,
                message: "a stored result cannot be decoded as \(Output.self): was the step's output type changed "
                    + "without bumping its version?", underlying: error)
        }
        let result: Result<Output, FileFailure>
        if let failure = decoded.x {
            result = .failure(FileFailure(message: failure))
        } else if let value = decoded.v {
            result = .success(value)
        } else {
            result = .failure(FileFailure(message: "the stored result has no value"))
        }
        return FileOutcome(
            key: decoded.k, ordinal: decoded.o, etag: decoded.e, size: decoded.z, result: result, attempt: decoded.a,
            duration: .milliseconds(Int64(decoded.d * 1000)), cached: cached,
            startedAt: decoded.t.map { Date(timeIntervalSince1970: Double($0) / 1000) },
            exit: decoded.s.map { ProgramExit(status: $0, signal: decoded.g ?? 0) })
    }

    /// Stops the run with `error` at the next check of the watcher.
    private func abort(with error: any Error) {
        let runError = error as? RunError
            ?? RunError(
                code: .backendFailed, message: "the run stopped: \(SystemErrorText.reason(error))", underlying: error)
        progress.withLock { if $0.abort == nil { $0.abort = runError } }
    }

    /// Files of shards that failed for good get a failure each, so every file has an outcome.
    ///
    /// The stored spec is checked first: workers refuse a spec changed after the run began, and that is the run's
    /// error (``RunError/Code/tamperedState``), not a failure of the shard's files.
    private func failUnfinished(_ report: BackendReport) async throws {
        if !report.failedShards.isEmpty {
            _ = try await prepared.state.readSpec(expectedDigest: prepared.digest)
        }
        for (shard, reason) in report.failedShards.sorted(by: { $0.key < $1.key }) {
            let files = try await plans.shard(shard).files
            for file in files where !progress.withLock({ $0.emitted.contains(file.ordinal) }) {
                try await emit(
                    .failure(file: file, attempt: 0, seconds: 0, message: "shard \(shard) failed: \(reason)"),
                    cached: false)
            }
        }
    }

    /// Gives every planned file that has no outcome yet a failure, so no file goes missing unnoticed (a worker
    /// that committed its shard without storing every file, a segment deleted by hand).
    /// - Returns: whether every file of the run, planned or carried over, has an outcome.
    private func failMissing() async throws -> Bool {
        let spec = prepared.spec
        guard progress.withLock({ $0.emitted.count }) < spec.fileCount, !replayOnly else {
            return progress.withLock { $0.emitted.count } >= spec.fileCount
        }
        for shard in 0..<spec.shardCount {
            let files = try await plans.shard(shard).files
            for file in files where !progress.withLock({ $0.emitted.contains(file.ordinal) }) {
                try await emit(
                    .failure(
                        file: file, attempt: 0, seconds: 0,
                        message: "shard \(shard) ended without a result for this file; re-run to compute it"),
                    cached: false)
            }
        }
        return progress.withLock { $0.emitted.count } >= spec.fileCount
    }

    /// Stores the attempts this driver launched, for reports. Written in a task of its own, which a cancelled run's
    /// cancellation does not reach; a failure to store them is a notice, not the run's failure.
    private func storeTimeline() async {
        for error in await lostPlaces.finish() {
            options.onEvent?(.notice("could not record a cluster dropped from the run: \(SystemErrorText.reason(error))"))
        }
        let records = timeline.records
        guard !records.isEmpty, !replayOnly else { return }
        let state = prepared.state
        let key = state.layout.attempts(driver: driverName)
        let stored = await Task { () -> (any Error)? in
            do {
                try await state.write(records, to: key)
                return nil
            } catch {
                return error
            }
        }.value
        if let stored {
            options.onEvent?(.notice("could not store the run's attempts for reports: \(SystemErrorText.reason(stored))"))
        }
    }

    private func record(_ summary: RunSummary, complete: Bool) async throws {
        let state = prepared.state
        try await state.write(
            RunSummaryRecord(
                runID: summary.runID, succeeded: summary.succeeded, failed: summary.failed, cached: summary.cached,
                finishedAt: Date(), apiRequests: summary.controlPlaneRequests,
                outcome: !complete ? "incomplete"
                    : options.tolerance.allows(failed: summary.failed, total: summary.files) ? "complete" : "failed",
                shards: summary.shardHistories.isEmpty ? nil
                    : Dictionary(uniqueKeysWithValues: summary.shardHistories.map { (String($0.key), $0.value) })),
            to: state.layout.summary)
        if complete && options.cache {
            try await state.write(
                CacheIndexEntry(runID: summary.runID),
                to: state.layout.cacheIndex(
                    step: prepared.step.name, version: prepared.step.cacheVersion(build: prepared.build),
                    inputHash: prepared.spec.inputHash))
        }
    }

    /// The run stopped early: more files failed than a ``FailureTolerance/count(_:)`` tolerance allows.
    private func tooManyFailures(_ progress: Progress) -> RunError {
        let stop = options.halt == .soon
            ? "so the run started nothing more and stopped once its running shards had finished"
            : "so the run stopped before its other files"
        return RunError(
            code: .tooManyFailures,
            message: "\(progress.failed) of \(prepared.spec.fileCount) file\(prepared.spec.fileCount == 1 ? "" : "s") "
                + "failed, more than the run tolerates "
                + "(\(options.tolerance)), \(stop); raise the tolerance or fix "
                + "the failing files, then re-run (stored results are reused)",
            failedFiles: progress.failures.map { ($0.key, $0.message) })
    }
}
