/// Time as retries see it: a monotonic reading and a way to wait.
///
/// Injectable, so that a test runs a whole schedule of backoffs (minutes of them) in no time, and backends that
/// back off between attempts are tested without sleeping.
public struct RetryClock: Sendable {
    /// Time since an arbitrary, fixed origin; never goes back.
    public var now: @Sendable () -> Duration
    /// Waits `duration`; throws when the task is cancelled.
    public var sleep: @Sendable (Duration) async throws -> Void

    public init(now: @escaping @Sendable () -> Duration, sleep: @escaping @Sendable (Duration) async throws -> Void) {
        self.now = now
        self.sleep = sleep
    }

    /// The system's monotonic clock and `Task.sleep`.
    public static let continuous: RetryClock = {
        let origin = ContinuousClock.now
        return RetryClock(now: { ContinuousClock.now - origin }, sleep: { try await Task.sleep(for: $0) })
    }()
}
