import Foundation

/// One attempt of one shard as the driver saw it: when it was launched, started running and ended, and how.
/// Stored with the run (`attempts/`), one file per driver of the run, for `fanout report` and
/// ``RunCatalog/report(_:)``.
public struct AttemptRecord: Sendable, Codable, Hashable {
    public var shard: Int
    public var attempt: Int
    /// Whether it backed up a straggling attempt.
    public var backup: Bool
    /// Its memory limit, where the backend sets one per attempt.
    public var memoryBytes: Int64?
    /// Unix milliseconds: launched (from then until ``running`` it was pending), running, ended.
    public var launched: Int64
    public var running: Int64?
    public var ended: Int64?
    /// How it ended (``AttemptExit/outcome``): `succeeded`, `failed`, `disrupted`, `oomKilled`, `crashed`,
    /// `misconfigured`, `exhausted` or `cancelled`; `nil` when the driver stopped before it ended.
    public var outcome: String?
    public var reason: String?

    public init(
        shard: Int, attempt: Int, backup: Bool = false, memoryBytes: Int64? = nil, launched: Int64,
        running: Int64? = nil, ended: Int64? = nil, outcome: String? = nil, reason: String? = nil
    ) {
        self.shard = shard
        self.attempt = attempt
        self.backup = backup
        self.memoryBytes = memoryBytes
        self.launched = launched
        self.running = running
        self.ended = ended
        self.outcome = outcome
        self.reason = reason
    }
}
