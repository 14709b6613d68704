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
    /// After a worker crashed on the shard: run its files one at a time in plan order, storing each result at
    /// once, so the next crash shows which file caused it (``CrashIsolation``). `nil` normally.
    public let isolation: CrashIsolation?

    public init(
        id: AttemptID, place: Int = 0, memoryBytes: Int64? = nil, isBackup: Bool = false,
        isolation: CrashIsolation? = nil
    ) {
        self.id = id
        self.place = place
        self.memoryBytes = memoryBytes
        self.isBackup = isBackup
        self.isolation = isolation
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
    /// The worker died of a signal of its own making (a crash in the step: `fatalError`, a bad access), as told
    /// by the message. The shard runs again with its files isolated (``CrashIsolation``).
    case crashed(String)
    /// The worker went over its memory limit: run again with more memory, up to the cap.
    case oomKilled(String)
    /// The worker can never run this shard as set up (another build, changed state): fails the shard at once.
    case misconfigured(String)
    /// The backend retried the shard itself, as far as the run's retries allow, and gave up: fails the shard at once.
    case exhausted(String)
    /// The attempt was stopped because the scheduler asked (a backup that lost, a cancelled run).
    case cancelled
}

extension AttemptExit {
    /// The case's name, for scripts: `succeeded`, `failed`, `disrupted`, `crashed`, `oomKilled`, `misconfigured`,
    /// `exhausted`, `cancelled`.
    public var outcome: String {
        switch self {
        case .succeeded: "succeeded"
        case .failed: "failed"
        case .disrupted: "disrupted"
        case .crashed: "crashed"
        case .oomKilled: "oomKilled"
        case .misconfigured: "misconfigured"
        case .exhausted: "exhausted"
        case .cancelled: "cancelled"
        }
    }

    /// Why, as the backend told it; `nil` for a success or a cancel.
    public var reason: String? {
        switch self {
        case .succeeded, .cancelled: nil
        case .failed(let reason), .disrupted(let reason), .crashed(let reason), .oomKilled(let reason),
            .misconfigured(let reason), .exhausted(let reason):
            reason
        }
    }
}

/// What a backend reports about an attempt's life.
public enum AttemptEvent: Sendable, Hashable {
    /// Waiting to start for longer than the backend finds normal (its pending timeout: no node has room, an image
    /// that will not pull), with why when the backend knows. When the run has another place that can take shards,
    /// the scheduler moves the attempts of this place that have not started there.
    case pending(AttemptID, reason: String?)
    case running(AttemptID)
    case exited(AttemptID, AttemptExit)
    /// A place stopped working for the run (a cluster that no longer answers): the scheduler puts nothing more
    /// there while another place can take it. The backend still reports an exit for each attempt it had there.
    case placeLost(place: Int, reason: String)
}

/// How an attempt runs after a worker crashed on its shard: files one at a time, in plan order, each result stored
/// at once. When such an attempt crashes too, the first file of the shard without a stored result is the one that
/// crashed it: the next attempt records that file as failed with ``crashMessage`` and runs the others.
public struct CrashIsolation: Sendable, Hashable {
    /// What the isolated attempt before this one died of, or `nil` when the crash came from an attempt that ran
    /// files side by side (then no file can be blamed yet).
    public var crashMessage: String?

    public init(crashMessage: String? = nil) {
        self.crashMessage = crashMessage
    }
}
