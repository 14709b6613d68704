import Foundation
import Testing

@testable import FanoutHTTP

/// Backoff arithmetic and `Retry-After` parsing, without I/O.
@Suite struct RetryPolicyTests {
    @Test func defaults() {
        let policy = RetryPolicy.default
        #expect(policy.maxAttempts == 150)
        #expect(policy.baseDelay == .milliseconds(100))
        #expect(policy.maxDelay == .seconds(2))
        #expect(policy.budget == .seconds(300))
        #expect(policy.unreachableBudget == .seconds(10))
        #expect(policy.retryableStatuses == [429, 500, 502, 503, 504])
        #expect(RetryPolicy.never.maxAttempts == 1)
    }

    @Test func backoffCeilingDoublesUpToTheMaximum() {
        let policy = RetryPolicy(baseDelay: .milliseconds(100), maxDelay: .seconds(1), random: { 1 })
        let delays = (1...8).map { policy.delay(afterAttempt: $0, retryAfter: nil) }
        #expect(delays == [
            .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800),
            .seconds(1), .seconds(1), .seconds(1), .seconds(1),
        ])
    }

    @Test func jitterScalesTheCeiling() {
        let none = RetryPolicy(baseDelay: .milliseconds(100), random: { 0 })
        let half = RetryPolicy(baseDelay: .milliseconds(100), random: { 0.5 })
        #expect(none.delay(afterAttempt: 3, retryAfter: nil) == .zero)
        #expect(half.delay(afterAttempt: 3, retryAfter: nil) == .milliseconds(200))
    }

    @Test("Backoff stays within bounds for any random value and attempt", arguments: [0.0, 0.1, 0.37, 0.5, 0.99, 1.0])
    func backoffBounds(random: Double) {
        let policy = RetryPolicy(baseDelay: .milliseconds(50), maxDelay: .seconds(3), random: { random })
        for attempt in [1, 2, 5, 10, 31, 64, 1000, Int.max] {
            let delay = policy.delay(afterAttempt: attempt, retryAfter: nil)
            #expect(delay >= .zero)
            #expect(delay <= .seconds(3))
        }
    }

    @Test func retryAfterWinsWhenLongerThanTheBackoff() {
        let policy = RetryPolicy(baseDelay: .milliseconds(100), maxDelay: .seconds(10), random: { 1 })
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(3)) == .seconds(3))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .milliseconds(10)) == .milliseconds(100))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .zero) == .milliseconds(100))
    }

    @Test func retryAfterIsCappedAtTheMaximumDelay() {
        let policy = RetryPolicy(maxDelay: .seconds(10), random: { 0 })
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(3600)) == .seconds(10))
    }

    // MARK: Retry-After

    @Test(arguments: [
        ("0", Duration.zero), ("5", .seconds(5)), (" 120 ", .seconds(120)), ("007", .seconds(7)),
    ])
    func retryAfterSeconds(value: String, expected: Duration) {
        #expect(RetryPolicy.parseRetryAfter(value) == expected)
    }

    @Test func retryAfterHTTPDate() throws {
        let now = try #require(ISO8601DateFormatter().date(from: "2015-10-21T07:28:00Z"))
        #expect(RetryPolicy.parseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT", now: now) == .seconds(30))
        #expect(RetryPolicy.parseRetryAfter("Thu, 22 Oct 2015 07:28:00 GMT", now: now) == .seconds(86_400))
    }

    @Test func retryAfterDateInThePastIsZero() throws {
        let now = try #require(ISO8601DateFormatter().date(from: "2015-10-21T07:28:00Z"))
        #expect(RetryPolicy.parseRetryAfter("Wed, 21 Oct 2015 07:00:00 GMT", now: now) == .zero)
    }

    @Test("Unusable Retry-After values are ignored, never trusted or trapped on", arguments: [
        nil, "", "   ", "soon", "-5", "1.5", "5s", "inf", "-inf", "nan", "infinity", "1e400", "0x10",
        "99999999999999999999999999", "Wed, 32 Oct 2015 07:28:00 GMT", "21 Oct 2015 07:28:00",
    ] as [String?])
    func unusableRetryAfter(value: String?) {
        #expect(RetryPolicy.parseRetryAfter(value) == nil)
    }
}
