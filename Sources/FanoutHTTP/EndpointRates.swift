import Synchronization

/// The request rate of each endpoint a client talks to, shared by all its requests: what
/// ``RetryPolicy/Mode/adaptive`` paces attempts with. One ``AdaptiveRateLimiter`` per endpoint, behind a lock.
final class EndpointRates: Sendable {
    private let limiters = Mutex<[String: AdaptiveRateLimiter]>([:])

    /// Takes a token for an attempt to `endpoint`; returns its turn, which says how long to wait.
    func reserve(_ endpoint: String, now: Duration) -> AdaptiveRateLimiter.Turn {
        limiters.withLock { limiters in
            limiters[endpoint, default: AdaptiveRateLimiter(now: now)].reserve(now: now)
        }
    }

    /// Whether no decrease of `endpoint`'s rate came since `turn` was given.
    func isCurrent(_ turn: AdaptiveRateLimiter.Turn, of endpoint: String) -> Bool {
        limiters.withLock { $0[endpoint]?.isCurrent(turn) ?? true }
    }

    /// Takes in the outcome of an attempt to `endpoint` that asked for its turn at `askedAt`.
    ///
    /// - Returns: The endpoint's send rate after it, in requests a second.
    @discardableResult
    func record(_ endpoint: String, throttled: Bool, askedAt: Duration, now: Duration) -> Double {
        limiters.withLock { limiters in
            limiters[endpoint, default: AdaptiveRateLimiter(now: askedAt)].record(
                throttled: throttled, askedAt: askedAt, now: now)
            return limiters[endpoint]!.sendRate
        }
    }

    /// The limiter of `endpoint` as it stands, for tests and logs.
    func limiter(of endpoint: String) -> AdaptiveRateLimiter? {
        limiters.withLock { $0[endpoint] }
    }
}
