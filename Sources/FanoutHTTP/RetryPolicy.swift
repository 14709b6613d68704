public import Foundation

/// When and how long to wait before sending a request again: the one retry mechanism of every Fanout client.
///
/// Transient transport failures (refused, reset or broken connections, transfers that stall past
/// ``HTTPClient/Configuration/stallTimeout``) and the statuses in ``retryableStatuses`` are retried with
/// exponential backoff and full jitter: before attempt *n* + 1 the client sleeps a random duration in
/// `0...min(maxDelay, baseDelay * 2^(n-1))`, or what the server's `Retry-After` asks if that is longer (capped at
/// ``maxDelay``). No attempt starts once ``budget`` has been spent (``unreachableBudget`` while no attempt has
/// reached the server), and no more than ``maxAttempts`` are made.
///
/// The defaults are sized so that a single request lives through 30 s of `503 SlowDown`, then a transfer stalled for
/// 90 s twice over, then 50 connection resets in a row, all one after the other, where the AWS SDKs' standard mode
/// (3 attempts) gives up at the first. An outage that never ends fails a request within
/// ``giveUpBound(stallTimeout:connectTimeout:)``: 6 minutes with the defaults. See `docs/RELIABILITY.md`.
///
/// In ``Mode/adaptive`` the attempts of all the requests a client sends to one endpoint also share a rate that
/// backs off when the endpoint throttles and probes upward after (``AdaptiveRateLimiter``).
public struct RetryPolicy: Sendable {
    /// Whether attempts are paced by a rate that follows the server's throttling.
    public enum Mode: String, Sendable, Hashable, CaseIterable {
        /// Backoff between the attempts of each request only, as the AWS SDKs' standard mode.
        case standard
        /// Also a client-side rate per endpoint, shared by every request of the client: lowered on each
        /// throttling answer, raised again along a cubic, as the AWS SDKs' adaptive mode.
        case adaptive
    }

    /// Default ``Mode/standard``.
    public var mode: Mode
    /// Attempts in all, the first included. Default 150.
    public var maxAttempts: Int
    /// The first backoff ceiling. Default 100 ms.
    public var baseDelay: Duration
    /// The largest backoff ceiling, and the longest `Retry-After` honoured. Default 2 s.
    public var maxDelay: Duration
    /// Time from the first attempt after which no new attempt starts. Default 300 s.
    public var budget: Duration
    /// The budget while no attempt has reached the server (every connection refused, the name not resolved): a
    /// wrong endpoint fails in seconds, not minutes. Default 10 s.
    public var unreachableBudget: Duration
    /// Statuses answered by overloaded or failing servers. Default 429, 500, 502, 503, 504.
    public var retryableStatuses: Set<Int>
    /// The retryable statuses that ask the client to send less, which lower the rate in ``Mode/adaptive``.
    /// Default 429 and 503 (S3's `SlowDown` and `ServiceUnavailable` both say "Please reduce your request rate").
    public var throttlingStatuses: Set<Int>
    /// Returns a random number in `0...1`; injectable so tests are deterministic. Default uniform.
    public var random: @Sendable () -> Double
    /// What backoffs and the budget are measured with; injectable so tests run whole schedules without sleeping.
    /// Default ``RetryClock/continuous``.
    public var clock: RetryClock

    public init(
        mode: Mode = .standard,
        maxAttempts: Int = 150,
        baseDelay: Duration = .milliseconds(100),
        maxDelay: Duration = .seconds(2),
        budget: Duration = .seconds(300),
        unreachableBudget: Duration = .seconds(10),
        retryableStatuses: Set<Int> = [429, 500, 502, 503, 504],
        throttlingStatuses: Set<Int> = [429, 503],
        random: @escaping @Sendable () -> Double = { Double.random(in: 0...1) },
        clock: RetryClock = .continuous
    ) {
        self.mode = mode
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.budget = budget
        self.unreachableBudget = unreachableBudget
        self.retryableStatuses = retryableStatuses
        self.throttlingStatuses = throttlingStatuses
        self.random = random
        self.clock = clock
    }

    public static let `default` = RetryPolicy()

    /// A single attempt.
    public static let never = RetryPolicy(maxAttempts: 1)

    /// The pause before the attempt that follows attempt number `attempt` (1-based).
    public func delay(afterAttempt attempt: Int, retryAfter: Duration?) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let ceiling = min(maxDelay, baseDelay * (1 << exponent))
        let jittered = ceiling * min(max(random(), 0), 1)
        guard let retryAfter else { return jittered }
        return max(jittered, min(retryAfter, maxDelay))
    }

    /// The longest a request can take to fail against an endpoint that never recovers: the last attempt starts
    /// before ``budget`` is spent and ends when its connection times out or its transfer stalls.
    public func giveUpBound(stallTimeout: Duration?, connectTimeout: Duration) -> Duration {
        budget + max(stallTimeout ?? connectTimeout, connectTimeout)
    }

    /// This policy with every duration multiplied by `factor`: how tests run the same schedules faster.
    public func scaled(by factor: Double) -> RetryPolicy {
        var copy = self
        copy.baseDelay = baseDelay * factor
        copy.maxDelay = maxDelay * factor
        copy.budget = budget * factor
        copy.unreachableBudget = unreachableBudget * factor
        return copy
    }

    /// Parses `Retry-After` as seconds or as an HTTP date.
    ///
    /// Seconds must be a non-negative integer, as RFC 9110 requires; anything else that is not a date (negative,
    /// fractional, `inf`, out of range) returns `nil`, so a malformed header is ignored rather than trusted.
    public static func parseRetryAfter(_ value: String?, now: Date = Date()) -> Duration? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if value.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
            return Int64(value).map { .seconds($0) }
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return .milliseconds(Int64(max(0, date.timeIntervalSince(now)) * 1000))
    }
}
