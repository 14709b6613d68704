public import FanoutStorage

/// Where shards run. A backend is handed a submitted run whose spec and plan are already stored, runs the
/// shards it is asked to, and returns once each has committed or failed for good.
///
/// Backends never talk to the driver except through the run's state in object storage (the in-process backend
/// also hands records over directly, as an optimisation). To add one (a cluster, a batch service), implement
/// ``execute(_:)``: start workers that run the same executable with the environment from
/// ``Submission/workerEnvironment(shard:attempt:)``, wait for them, retry failed shards up to
/// ``Submission/retries`` times, and report what could not be done.
public protocol Backend: Sendable {
    /// A short name for messages and the run spec: `in-process`, `processes`, `kubernetes`.
    var name: String { get }

    /// Where this backend runs workers, recorded with each run so that later commands find them (the Kubernetes
    /// backend's `namespace` and `context`). Default: nothing.
    var placement: [String: String] { get }

    /// Whether workers run on other machines, which cannot read a folder on this one: then a run needs a state
    /// prefix they can reach (``RunOptions/state`` or `FANOUT_STATE`), and is refused without one. Default `false`.
    var needsSharedState: Bool { get }

    /// Runs the submission's shards.
    /// - Returns: the shards that failed for good, with why.
    /// - Throws: when the backend itself cannot work (no cluster, no permission); cancellation stops workers.
    func execute(_ submission: Submission) async throws -> BackendReport

    /// Finds what would stop the backend before anything of a run is stored, so that a mistake in its settings
    /// (no cluster configuration, an unknown context or namespace) leaves no unfinished run behind. Called by
    /// ``Fanout/map(_:over:)`` before the plan is stored. Default: nothing to check.
    /// - Throws: the error ``execute(_:)`` would throw for the same mistake.
    func check() async throws
}

extension Backend {
    public var placement: [String: String] { [:] }

    public var needsSharedState: Bool { false }

    public func check() async throws {}
}

/// A run handed to a backend.
public struct Submission: Sendable {
    public let runID: String
    /// The state prefix as a location string (`s3://bucket/.fanout/`, `/data/.fanout/`).
    public let stateLocation: String
    public let stepName: String
    /// Shards to run: those not committed yet.
    public let shards: [Int]
    /// Files per shard, for backends that size workers.
    public let shardFileCounts: [Int: Int]
    /// Extra attempts per shard after the first.
    public let retries: Int
    /// The wait before each attempt of a shard after its first. Default: ``RunOptions/shardBackoff``'s default.
    public var backoff = ShardBackoff()
    /// Failed files the run tolerates, for backends that can stop early once more shards failed than that
    /// allows (Kubernetes' `maxFailedIndexes`). Default ``FailureTolerance/none``.
    public var tolerance: FailureTolerance = .none
    /// The ``RunDigest`` of the run's stored spec, which every worker gets in its environment and checks.
    public var runDigest: String?
    /// Whether this driver still holds the run. A backend that would clean up after the run (delete its Jobs)
    /// leaves that to the driver that took the run over when this is `false`. Default: always.
    public var ownsRun: @Sendable () -> Bool = { true }
    /// The digest of each shard's stored plan, which shards run in this process check.
    var shardDigests: [String]?
    let step: AnyMapStep
    let state: RunStateStore
    let input: any ObjectStore
    let inputLocation: StorageLocation
    let batching: SegmentBatching
    let onRecord: (@Sendable (RecordLine) async -> Void)?
    /// Where ``report(_:)`` sends events: ``RunOptions/onBackendEvent``.
    var onEvent: (@Sendable (BackendEvent) -> Void)?

    /// The store holding the run's state, for backends that keep files of their own beside it (the
    /// Kubernetes backend's shipped executable).
    public var stateStore: any ObjectStore { state.store }

    /// The state prefix's keys start with this in ``stateStore`` (empty, or ending in `/`).
    public var stateRoot: String { state.layout.root }

    /// The input as a location string (`s3://bucket/logs/`, `/data/logs/`), for backends whose workers cannot
    /// reach every kind of location.
    public var inputLocationDescription: String { inputLocation.description }

    /// Tells the caller how the run is going (workers running and pending, notable messages).
    public func report(_ event: BackendEvent) {
        onEvent?(event)
    }

    /// Whether the caller hears ``report(_:)``: a backend that also logs what it reports logs it at debug level
    /// then, so that nothing is told twice.
    public var isObserved: Bool { onEvent != nil }

    /// The environment a worker process needs to run `shard`, beyond the caller's own.
    public func workerEnvironment(shard: Int, attempt: Int) -> [String: String] {
        var assignment = WorkerAssignment(
            runID: runID, stateLocation: stateLocation, stepName: stepName, shard: shard, attempt: attempt)
        assignment.runDigest = runDigest
        return assignment.environment
    }

    /// Runs every shard with at most `parallelism` at once, each up to ``retries`` + 1 attempts, backing off with
    /// jitter (``backoff``) before each attempt after the first.
    ///
    /// - Parameter attempt: runs one attempt of a shard; returns `nil` on success or why it failed. Throwing
    ///   stops the whole submission (cancellation, a backend that cannot work).
    /// - Returns: the shards whose every attempt failed, with the last reason.
    public func runShards(
        parallelism: Int,
        attempt: @escaping @Sendable (_ shard: Int, _ attempt: Int) async throws -> String?
    ) async throws -> BackendReport {
        var failed: [Int: String] = [:]
        try await withThrowingTaskGroup(of: (Int, String?).self) { group in
            var pending = shards.makeIterator()
            func launch(_ shard: Int) {
                group.addTask { [backoff, retries] in
                    (shard, try await backoff.run(attempts: retries + 1) { number in try await attempt(shard, number) })
                }
            }
            for _ in 0..<max(1, parallelism) {
                guard let shard = pending.next() else { break }
                launch(shard)
            }
            while let (shard, error) = try await group.next() {
                if let error { failed[shard] = error }
                if let next = pending.next() { launch(next) }
            }
        }
        return BackendReport(failedShards: failed)
    }

    /// Runs one shard attempt in this process.
    func executeInProcess(shard index: Int, attempt: Int, concurrency: Int) async throws {
        let shard = try await state.readShard(index, digests: shardDigests)
        try await ShardExecutor(
            step: step, shard: shard, attempt: attempt, state: state, input: input, inputLocation: inputLocation,
            concurrency: concurrency, batching: batching, onRecord: onRecord
        ).run()
    }
}

/// What a backend tells the caller while a run goes on, through ``RunOptions/onBackendEvent``.
public enum BackendEvent: Sendable, Hashable {
    /// Workers (pods, processes) running now, and those waiting to start (unscheduled, pulling images).
    case workers(running: Int, pending: Int)
    /// Something the user should see: a worker pending past its timeout and why, a failed worker's last log lines.
    case notice(String)
}

/// What a backend could not do.
public struct BackendReport: Sendable {
    /// Shards that exhausted their attempts, with the last reason.
    public var failedShards: [Int: String]
    /// Requests made to the control plane, when the backend has one.
    public var apiRequests: Int?

    public init(failedShards: [Int: String] = [:], apiRequests: Int? = nil) {
        self.failedShards = failedShards
        self.apiRequests = apiRequests
    }
}
