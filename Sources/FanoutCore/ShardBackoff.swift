public import FanoutHTTP

/// How long a failed shard waits before its next attempt: exponential backoff with full jitter, as the HTTP
/// clients back off between requests, so that workers failing together (an outage, a crash on start) do not all
/// start again at once.
///
/// Before attempt *n* (from 2) a shard sleeps a random duration in `0...min(maxDelay, baseDelay * 2^(n-2))`.
public struct ShardBackoff: Sendable {
    /// The first backoff ceiling. Default 1 s.
    public var baseDelay: Duration
    /// The largest backoff ceiling. Default 30 s.
    public var maxDelay: Duration
    /// Returns a random number in `0...1`; injectable so tests are deterministic. Default uniform.
    public var random: @Sendable () -> Double
    /// How the backoff is waited out; injectable so tests do not sleep. Default ``RetryClock/continuous``.
    public var clock: RetryClock

    public init(
        baseDelay: Duration = .seconds(1),
        maxDelay: Duration = .seconds(30),
        random: @escaping @Sendable () -> Double = { Double.random(in: 0...1) },
        clock: RetryClock = .continuous
    ) {
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.random = random
        self.clock = clock
    }

    /// No waiting between attempts.
    public static let none = ShardBackoff(baseDelay: .zero, maxDelay: .zero)

    /// The pause before attempt number `attempt` (from 2).
    public func delay(beforeAttempt attempt: Int) -> Duration {
        RetryPolicy(baseDelay: baseDelay, maxDelay: maxDelay, random: random)
            .delay(afterAttempt: attempt - 1, retryAfter: nil)
    }

    /// Runs up to `attempts` attempts of one shard, backing off before each after the first.
    ///
    /// - Parameter attempt: one attempt, given its number; returns `nil` on success or why it failed.
    /// - Returns: `nil` once an attempt succeeded, or the last attempt's reason.
    /// - Throws: what `attempt` throws, and `CancellationError` when cancelled, also during a backoff.
    func run(attempts: Int, _ attempt: (_ number: Int) async throws -> String?) async throws -> String? {
        var lastError: String?
        for number in 1...max(1, attempts) {
            if number > 1 {
                let pause = delay(beforeAttempt: number)
                if pause > .zero { try await clock.sleep(pause) }
            }
            try Task.checkCancellation()
            lastError = try await attempt(number)
            if lastError == nil { return nil }
        }
        return lastError
    }
}
