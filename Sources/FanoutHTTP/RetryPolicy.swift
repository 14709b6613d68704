public import Foundation

/// When and how long to wait before sending a request again.
///
/// Transient transport failures (refused or broken connections, stalls) and the statuses in ``retryableStatuses``
/// are retried with exponential backoff and full jitter: before attempt *n* + 1 the client sleeps a random duration
/// in `0...min(maxDelay, baseDelay * 2^n)`, or what the server's `Retry-After` asks if that is longer. No attempt
/// starts once ``budget`` has been spent, so a dead endpoint fails fast.
public struct RetryPolicy: Sendable {
    /// Attempts in all, the first included. Default 5.
    public var maxAttempts: Int
    /// The first backoff ceiling. Default 100 ms.
    public var baseDelay: Duration
    /// The largest backoff ceiling. Default 10 s.
    public var maxDelay: Duration
    /// Time from the first attempt after which no new attempt starts. Default 30 s.
    public var budget: Duration
    /// Statuses answered by overloaded or failing servers. Default 429, 500, 502, 503, 504.
    public var retryableStatuses: Set<Int>
    /// Returns a random number in `0...1`; injectable so tests are deterministic.
    public var random: @Sendable () -> Double

    public init(
        maxAttempts: Int = 5,
        baseDelay: Duration = .milliseconds(100),
        maxDelay: Duration = .seconds(10),
        budget: Duration = .seconds(30),
        retryableStatuses: Set<Int> = [429, 500, 502, 503, 504],
        random: @escaping @Sendable () -> Double = { Double.random(in: 0...1) }
    ) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.budget = budget
        self.retryableStatuses = retryableStatuses
        self.random = random
    }

    public static let `default` = RetryPolicy()

    /// A single attempt.
    public static let never = RetryPolicy(maxAttempts: 1)

    /// The pause before the attempt that follows attempt number `attempt` (1-based).
    public func delay(afterAttempt attempt: Int, retryAfter: Duration?) -> Duration {
        let exponent = min(attempt - 1, 30)
        let ceiling = min(maxDelay, baseDelay * (1 << exponent))
        let jittered = ceiling * random()
        guard let retryAfter else { return jittered }
        return max(jittered, min(retryAfter, maxDelay))
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
