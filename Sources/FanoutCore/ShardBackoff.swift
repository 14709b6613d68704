import FanoutHTTP

/// How long a failed shard waits before its next attempt: exponential backoff with full jitter, as the HTTP
/// clients back off between requests, so that workers failing together (an outage, a crash on start) do not all
/// start again at once.
///
/// Before attempt *n* (from 2) a shard waits a random duration in `0...min(maxDelay, baseDelay * 2^(n-2))`; the
/// run's scheduler (``AttemptScheduler``) holds the shard back that long.
public struct ShardBackoff: Sendable {
    /// The first backoff ceiling. Default 1 s.
    public var baseDelay: Duration
    /// The largest backoff ceiling. Default 30 s.
    public var maxDelay: Duration
    /// Returns a random number in `0...1`; injectable so tests are deterministic. Default uniform.
    public var random: @Sendable () -> Double

    public init(
        baseDelay: Duration = .seconds(1),
        maxDelay: Duration = .seconds(30),
        random: @escaping @Sendable () -> Double = { Double.random(in: 0...1) }
    ) {
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.random = random
    }

    /// No waiting between attempts.
    public static let none = ShardBackoff(baseDelay: .zero, maxDelay: .zero)

    /// The pause before attempt number `attempt` (from 2).
    public func delay(beforeAttempt attempt: Int) -> Duration {
        RetryPolicy(baseDelay: baseDelay, maxDelay: maxDelay, random: random)
            .delay(afterAttempt: attempt - 1, retryAfter: nil)
    }
}
