/// One attempt of one shard: its number counts every attempt of the shard, first runs, re-runs and backups alike.
public struct AttemptID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let shard: Int
    public let number: Int

    public init(shard: Int, number: Int) {
        self.shard = shard
        self.number = number
    }

    public static func < (lhs: AttemptID, rhs: AttemptID) -> Bool { (lhs.shard, lhs.number) < (rhs.shard, rhs.number) }

    public var description: String { "shard \(shard) attempt \(number)" }
}

/// What the scheduler asks a backend to start.
public struct AttemptLaunch: Sendable, Hashable {
    public let id: AttemptID
    /// Which of the scheduler's places runs it (an index into the backends it schedules over).
    public let place: Int
    /// The memory limit the attempt runs with, in bytes, when the backend sets one per attempt; `nil` for the
    /// backend's own setting.
    public let memoryBytes: Int64?
    /// Whether this attempt backs up a running one that is far behind the others.
    public let isBackup: Bool

    public init(id: AttemptID, place: Int = 0, memoryBytes: Int64? = nil, isBackup: Bool = false) {
        self.id = id
        self.place = place
        self.memoryBytes = memoryBytes
        self.isBackup = isBackup
    }
}

/// How an attempt ended, as its backend tells it apart.
public enum AttemptExit: Sendable, Hashable {
    /// The shard committed.
    case succeeded
    /// The worker failed: counts against the shard's retries.
    case failed(String)
    /// The worker was taken away (preempted, evicted, its node drained): counts against the disruption budget,
    /// never against retries.
    case disrupted(String)
    /// The worker went over its memory limit: run again with more memory, up to the cap.
    case oomKilled(String)
    /// The worker can never run this shard as set up (another build, changed state): fails the shard at once.
    case misconfigured(String)
    /// The backend retried the shard itself, as far as the run's retries allow, and gave up: fails the shard at once.
    case exhausted(String)
    /// The attempt was stopped because the scheduler asked (a backup that lost, a cancelled run).
    case cancelled
}

/// What a backend reports about an attempt's life.
public enum AttemptEvent: Sendable, Hashable {
    /// Waiting to start, with why when the backend knows (no node has room, pulling the image).
    case pending(AttemptID, reason: String?)
    case running(AttemptID)
    case exited(AttemptID, AttemptExit)
}
