public import FanoutStorage

/// Where shards run. The run's scheduler (``AttemptScheduler``, in the caller's process) decides every attempt:
/// which shard runs when, its retries, backups and memory. A backend only starts the attempts it is asked to, stops
/// the ones it is told to, and reports each attempt's life (pending, running, how it exited) as typed events.
///
/// To add one (a cluster, a batch service), implement ``serve(_:attempts:)``: read ``AttemptQueue/requests``; for
/// each launch start a worker that runs the same executable with the environment from
/// ``Submission/workerEnvironment(shard:attempt:)``, report ``AttemptEvent/running(_:)`` and then
/// ``AttemptEvent/exited(_:_:)`` with the cause as well as the backend can tell it; stop the attempts named by a
/// cancel; return once the requests have ended and every attempt has stopped. Say what it can do in
/// ``capabilities``. ``Submission/serveLocally(_:run:)`` does all of that for workers that are async functions.
public protocol Backend: Sendable {
    /// A short name for messages and the run spec: `in-process`, `processes`, `kubernetes`.
    var name: String { get }

    /// Where this backend runs workers, recorded with each run so that later commands find them (the Kubernetes
    /// backend's `namespace` and `context`). Default: nothing.
    var placement: [String: String] { get }

    /// Whether workers run on other machines, which cannot read a folder on this one: then a run needs a state
    /// prefix they can reach (``RunOptions/state`` or `FANOUT_STATE`), and is refused without one. Default `false`.
    var needsSharedState: Bool { get }

    /// What the scheduler may ask of this backend. Default ``BackendCapabilities/init(slots:handsRecordsOver:runsAttemptsSideBySide:memoryBytes:)``
    /// with one slot per core.
    var capabilities: BackendCapabilities { get }

    /// Where attempts can run, which ``AttemptLaunch/place`` indexes: one place with ``capabilities`` for most
    /// backends (the default), several for a backend over several clusters, each with its own capabilities and
    /// share of the shards.
    var places: [BackendPlace] { get }

    /// Starts and stops the run's attempts as `attempts` asks, until its requests end.
    /// - Returns: what the backend counted (its control-plane requests).
    /// - Throws: when the backend itself cannot work (no cluster, no permission); cancellation stops every attempt
    ///   before it returns.
    func serve(_ submission: Submission, attempts: AttemptQueue) async throws -> BackendReport

    /// Finds what would stop the backend before anything of a run is stored, so that a mistake in its settings
    /// (no cluster configuration, an unknown context or namespace) leaves no unfinished run behind. Called by
    /// ``Fanout/map(_:over:)`` before the plan is stored. Default: nothing to check.
    /// - Throws: the error ``serve(_:attempts:)`` would throw for the same mistake.
    func check() async throws

    /// What the backend would create for a run, as text for a person or a tool (the Kubernetes backend's Job
    /// manifests, which `kubectl apply --dry-run=server -f -` takes), made by the same code as the real objects,
    /// with the values known only once the run is stored shown as marked placeholders; `nil` when it creates
    /// nothing worth showing. Default `nil`.
    /// - Throws: what ``serve(_:attempts:)`` would refuse the run for (a local input for workers elsewhere).
    func preview(_ submission: SubmissionPreview) throws -> String?
}

extension Backend {
    public func preview(_ submission: SubmissionPreview) throws -> String? { nil }

    public var placement: [String: String] { [:] }

    public var needsSharedState: Bool { false }

    public var capabilities: BackendCapabilities { BackendCapabilities() }

    public var places: [BackendPlace] { [BackendPlace(name: "", capabilities: capabilities)] }

    public func check() async throws {}
}

/// What a backend can do, which the scheduler and the driver plan with.
public struct BackendCapabilities: Sendable, Hashable {
    /// Attempts it runs at once. Default: the number of cores.
    public var slots: Int
    /// Whether its workers run in the caller's process and hand records straight to the driver
    /// (``Submission/executeInProcess(shard:attempt:concurrency:)``), so the driver need not read them back from
    /// the store. Default `false`.
    public var handsRecordsOver: Bool
    /// Whether two attempts of one shard may run at once (needed for backups). Default `true`.
    public var runsAttemptsSideBySide: Bool
    /// The memory limit of an attempt in bytes, when the backend sets one per attempt and can raise it for an
    /// attempt after an OOM kill (``AttemptLaunch/memoryBytes``); `nil` when it cannot. Default `nil`.
    public var memoryBytes: Int64?
    /// Whether attempts are better launched together than one by one (each launch costs API objects, as a Job on
    /// Kubernetes): the scheduler then starts attempts there only as time passes (its ticks, 200 ms apart), so the
    /// re-runs of a moment go out as one launch. Default `false`: at once.
    public var batchesLaunches: Bool

    public init(
        slots: Int = ProcessInfoCores.count, handsRecordsOver: Bool = false, runsAttemptsSideBySide: Bool = true,
        memoryBytes: Int64? = nil, batchesLaunches: Bool = false
    ) {
        self.slots = max(1, slots)
        self.handsRecordsOver = handsRecordsOver
        self.runsAttemptsSideBySide = runsAttemptsSideBySide
        self.memoryBytes = memoryBytes
        self.batchesLaunches = batchesLaunches
    }
}

/// One place of a backend's: a cluster of a fleet, say.
public struct BackendPlace: Sendable, Hashable {
    /// What messages call it.
    public var name: String
    public var capabilities: BackendCapabilities
    /// Its share of the shards against the backend's other places. Default 1.
    public var weight: Double

    public init(name: String, capabilities: BackendCapabilities, weight: Double = 1) {
        self.name = name
        self.capabilities = capabilities
        self.weight = weight
    }
}

/// A run handed to a backend.
public struct Submission: Sendable {
    public let runID: String
    /// The state prefix as a location string (`s3://bucket/.fanout/`, `/data/.fanout/`).
    public let stateLocation: String
    public let stepName: String
    /// Shards to run: those not committed yet (a backend serving a launch narrows it to the launch's shards).
    public var shards: [Int]
    /// Files per shard, for backends that size workers.
    public let shardFileCounts: [Int: Int]
    /// The ``RunDigest`` of the run's stored spec, which every worker gets in its environment and checks.
    public var runDigest: String?
    /// Whether this driver still holds the run. A backend that would clean up after the run (delete its Jobs)
    /// leaves that to the driver that took the run over when this is `false`. Default: always.
    public var ownsRun: @Sendable () -> Bool = { true }
    let step: AnyMapStep
    let state: RunStateStore
    /// Reads the shard plans of the attempts run in this process, checked against the spec.
    let plans: ShardPlanReader
    let input: any ObjectStore
    let inputLocation: StorageLocation
    let batching: SegmentBatching
    let onRecord: (@Sendable (_ shard: Int, RecordLine) async -> Void)?
    /// Where ``report(_:)`` sends events: ``RunOptions/onEvent``.
    var onEvent: (@Sendable (RunEvent) -> Void)?

    /// The store holding the run's state, for backends that keep files of their own beside it (the
    /// Kubernetes backend's shipped executable).
    public var stateStore: any ObjectStore { state.store }

    /// The state prefix's keys start with this in ``stateStore`` (empty, or ending in `/`).
    public var stateRoot: String { state.layout.root }

    /// The input as a location string (`s3://bucket/logs/`, `/data/logs/`), for backends whose workers cannot
    /// reach every kind of location.
    public var inputLocationDescription: String { inputLocation.description }

    /// Tells the caller how the run is going (workers running and pending, notable messages, the backend's own
    /// events).
    public func report(_ event: RunEvent) {
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

    /// Runs one shard attempt in this process.
    func executeInProcess(shard index: Int, attempt: Int, concurrency: Int) async throws {
        let shard = try await plans.shard(index)
        try await ShardExecutor(
            step: step, shard: shard, attempt: attempt, state: state, input: input, inputLocation: inputLocation,
            concurrency: concurrency, batching: batching, onRecord: onRecord
        ).run()
    }
}

/// What the caller hears while a run goes on, through ``RunOptions/onEvent``: the scheduler's attempts, the
/// backend's workers and notices, and what only one backend knows, in one typed stream. Events come from any
/// thread, in the order each source made them.
public enum RunEvent: Sendable {
    /// The scheduler started an attempt: a shard's first, a re-run, or a backup.
    case launched(AttemptLaunch)
    /// The backend reported an attempt waiting, running or ended, and how.
    case attempt(AttemptEvent)
    /// Workers (pods, processes) running now, and those waiting to start (unscheduled, pulling images).
    case workers(running: Int, pending: Int)
    /// Something the user should see: a worker pending past its timeout and why, a failed worker's last log lines,
    /// a shard run again with more memory.
    case notice(String)
    /// What only one backend can tell (``BackendDetail``): the Kubernetes backend's Jobs created, pods failed with
    /// their logs, clean-ups.
    case backend(any BackendDetail)
}

/// A backend's own event, carried by ``RunEvent/backend(_:)``: a caller who knows the backend casts it to the
/// backend's type (`KubernetesBackendEvent`); others can print it.
public protocol BackendDetail: Sendable, CustomStringConvertible {}

/// What a backend counted while it served a run, and (filled in by the driver) what could not be done.
public struct BackendReport: Sendable {
    /// Shards that exhausted their attempts, with the last reason.
    public var failedShards: [Int: String]
    /// What happened to each shard that did not simply succeed at its first attempt, from the scheduler.
    public var shardHistories: [Int: String] = [:]
    /// Requests made to the control plane, when the backend has one.
    public var apiRequests: Int?

    public init(failedShards: [Int: String] = [:], apiRequests: Int? = nil) {
        self.failedShards = failedShards
        self.apiRequests = apiRequests
    }
}
