/// How a run is carried out. Every field has a default that suits a first run on one machine.
public struct RunOptions: Sendable {
    /// Where shards run. Default ``InProcessBackend``.
    public var backend: any Backend
    /// How files are cut into shards. Default ``Sharding/automatic``: 256 files a shard for workers in processes
    /// and pods, larger shards in process.
    public var sharding: Sharding
    /// The state prefix (`s3://bucket/fanout-state/`, `/var/lib/fanout/`). Default: `FANOUT_STATE`, else the
    /// user's state folder on this machine, `$XDG_STATE_HOME/fanout/state/` (`~/.local/state/fanout/state/`),
    /// whatever the input: the input is only read. A backend whose workers run elsewhere (Kubernetes) needs a
    /// prefix they can reach, and a run on it without one is refused (``Backend/needsSharedState``).
    public var state: String?
    /// Reuse stored results of the same step version for unchanged files. Default `true`.
    public var cache: Bool
    /// Accept an input with no files (after filtering) as a run of nothing. Default `false`: such an input is a
    /// ``RunError`` with code ``RunError/Code/notFound``, since it is almost always a mistyped path or prefix.
    public var allowEmptyInput: Bool = false
    /// Settings of the program that started the run (a command line's flags), stored in the run's spec and so
    /// pinned by its digest, for the program to resume the run as it was started. Never credentials. Default none.
    public var recordedSettings: [String]?
    /// How the driver holds its run against other drivers. Default ``LeaseSettings/init(duration:takeOver:)``.
    public var lease = LeaseSettings()
    /// Failed files allowed before the run fails. Default ``FailureTolerance/none``.
    public var tolerance: FailureTolerance
    /// What a ``FailureTolerance/count(_:)`` tolerance exceeded while the run goes on does, as GNU parallel's
    /// `--halt now` and `--halt soon`. Default ``Halt/now``.
    public var halt: Halt = .now

    /// How a run stops once more files failed than a count tolerance allows.
    public enum Halt: Sendable, Hashable {
        /// Cancel the running attempts at once.
        case now
        /// Start no more attempts; let the running ones finish and store their files' results.
        case soon
    }
    /// Extra attempts of a shard whose worker failed. Default 2. Disruptions and OOM kills have budgets of their
    /// own (``disruptionBudget``, ``memoryGrowth``).
    public var retries: Int
    /// Disruptions (preemption, eviction, node drain) a shard may suffer before it fails; they never use a retry.
    /// Default 10.
    public var disruptionBudget: Int = 10
    /// When a shard far behind the others gets a backup attempt; `nil` for never. Backups run only on backends
    /// that can run two attempts of a shard at once. Default ``SchedulingPolicy/Backups/init(slowdown:minimumFinished:)``.
    public var backups: SchedulingPolicy.Backups? = SchedulingPolicy.Backups()
    /// How an OOM-killed shard's memory grows, on backends that set memory per attempt.
    /// Default ``SchedulingPolicy/MemoryGrowth/init(factor:maximumBytes:)``.
    public var memoryGrowth = SchedulingPolicy.MemoryGrowth()
    /// The wait before each extra attempt of a shard. Default ``ShardBackoff/init(baseDelay:maxDelay:random:)``:
    /// up to 1 s before the second attempt, doubling to at most 30 s.
    public var shardBackoff: ShardBackoff
    /// When workers write their results out. Default ``SegmentBatching/init(maxRecords:maxBytes:maxDelay:)``.
    public var batching: SegmentBatching
    /// How often the driver looks for new results from remote workers. Default 250 ms.
    public var pollInterval: Duration
    /// Called with what happens while the run goes on (``RunEvent``): attempts launched, running and ended,
    /// workers running and pending, notices, and the backend's own events. Called from any thread; keep it quick.
    /// Default none.
    public var onEvent: (@Sendable (RunEvent) -> Void)?

    public init(
        backend: any Backend = InProcessBackend(),
        sharding: Sharding = .automatic,
        state: String? = nil,
        cache: Bool = true,
        tolerance: FailureTolerance = .none,
        retries: Int = 2,
        shardBackoff: ShardBackoff = ShardBackoff(),
        batching: SegmentBatching = SegmentBatching(),
        pollInterval: Duration = .milliseconds(250),
        onEvent: (@Sendable (RunEvent) -> Void)? = nil
    ) {
        self.backend = backend
        self.sharding = sharding
        self.state = state
        self.cache = cache
        self.tolerance = tolerance
        self.retries = max(0, retries)
        self.shardBackoff = shardBackoff
        self.batching = batching
        self.pollInterval = pollInterval
        self.onEvent = onEvent
    }
}

extension RunOptions {
    /// The scheduler's rules, from these options.
    public var schedulingPolicy: SchedulingPolicy {
        SchedulingPolicy(retries: retries, disruptionBudget: disruptionBudget, backups: backups, memory: memoryGrowth)
    }
}

/// How many failed files a run accepts and still succeeds.
public enum FailureTolerance: Sendable, Hashable {
    /// Any failed file fails the run (after every file has run).
    case none
    /// Up to this many failed files.
    case count(Int)
    /// Up to this fraction (0...1) of the run's files.
    case fraction(Double)

    /// Whether `failed` of `total` is still acceptable.
    public func allows(failed: Int, total: Int) -> Bool {
        switch self {
        case .none: failed == 0
        case .count(let limit): failed <= limit
        case .fraction(let fraction): Double(failed) <= fraction * Double(total)
        }
    }

    /// Parses `N` or `P%`.
    public init?(text: String) {
        if text.hasSuffix("%"), let percent = Double(text.dropLast()), (0...100).contains(percent) {
            self = .fraction(percent / 100)
        } else if let count = Int(text), count >= 0 {
            self = count == 0 ? .none : .count(count)
        } else {
            return nil
        }
    }
}
