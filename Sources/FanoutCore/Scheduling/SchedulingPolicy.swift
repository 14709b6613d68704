/// The rules the scheduler follows: how often a shard may fail, be disrupted or run out of memory, and when a shard
/// far behind the others gets a backup attempt.
public struct SchedulingPolicy: Sendable, Hashable {
    /// Extra attempts after failures (``AttemptExit/failed(_:)``). Default 2.
    public var retries: Int
    /// Disruptions (preemption, eviction, node drain) a shard may suffer before it fails; they never use a retry.
    /// Default 10.
    public var disruptionBudget: Int
    /// When stragglers get backups; `nil` for never. Default ``Backups/init()``.
    public var backups: Backups?
    /// How memory grows after an OOM kill. Default ``MemoryGrowth/init()``.
    public var memory: MemoryGrowth

    public init(retries: Int = 2, disruptionBudget: Int = 10, backups: Backups? = Backups(), memory: MemoryGrowth = MemoryGrowth()) {
        self.retries = max(0, retries)
        self.disruptionBudget = max(0, disruptionBudget)
        self.backups = backups
        self.memory = memory
    }

    /// MapReduce's backup tasks. A running shard gets one backup attempt when all of these hold:
    /// - a place that can run two attempts of a shard at once has a free slot;
    /// - at least ``minimumFinished`` shards have succeeded, giving the median shard time `m`;
    /// - when some of its files are stored: the shard has run at least `m`, and its projected time (its time so far,
    ///   scaled by the share of its files stored) is over ``slowdown`` × `m`; when none is stored yet: it has run
    ///   over ``slowdown`` × `m`, and its projected time is taken as twice its time so far;
    /// - no shard waits to start, or the shard's projected finish is later than the moment the waiting shards
    ///   would all be done at the median pace on every slot (then the backup goes before them: the straggler
    ///   would otherwise finish last).
    /// The shard furthest behind goes first. The first attempt to succeed wins and the other is cancelled.
    public struct Backups: Sendable, Hashable {
        /// Default 2.
        public var slowdown: Double
        /// Default 3.
        public var minimumFinished: Int

        public init(slowdown: Double = 2, minimumFinished: Int = 3) {
            self.slowdown = max(1, slowdown)
            self.minimumFinished = max(1, minimumFinished)
        }
    }

    /// After an OOM kill, the shard runs again with its memory multiplied by ``factor``, up to ``maximumBytes``,
    /// using no retry. An attempt killed at the cap, or with no memory limit to raise, counts as a failure.
    public struct MemoryGrowth: Sendable, Hashable {
        /// Default 2.
        public var factor: Double
        /// The cap, in bytes; `nil` for four times the first attempt's memory. Default `nil`.
        public var maximumBytes: Int64?

        public init(factor: Double = 2, maximumBytes: Int64? = nil) {
            self.factor = max(1, factor)
            self.maximumBytes = maximumBytes
        }
    }
}
