import Logging
import Synchronization
import Testing

@testable import FanoutHTTP

/// The full-size figures of the default policy, on a virtual clock: the real retry loop runs minutes of faults and
/// backoffs in no time. Each schedule that must be lived through is run with the longest backoffs (every one at its
/// ceiling), short ones (a quarter of it) and a fixed pseudo-random sequence; the bounds also with no backoff at all.
@Suite struct RetryPolicyRunTests {
    /// The stall threshold the schedules assume: ``HTTPClient/Configuration/stallTimeout``'s default.
    static let stallTimeout = HTTPClient.Configuration().stallTimeout!
    static let connectTimeout = HTTPClient.Configuration().connectTimeout
    static let endpoint = "https://s3.us-east-1.amazonaws.com:443"

    enum Jitter: String, CaseIterable, CustomTestStringConvertible {
        case ceiling, quarter, seeded, none
        var testDescription: String { rawValue }

        /// The draws a uniform jitter makes in practice. With none at all, attempts follow each other at once and the
        /// attempt limit, not the time budget, ends the schedule: only the bounds are checked then.
        static let realistic: [Jitter] = [.ceiling, .quarter, .seeded]
    }

    /// Time that moves only when the loop sleeps or an attempt says how long it took.
    final class VirtualTime: Sendable {
        let elapsed = Mutex(Duration.zero)
        let sleeps = Mutex<[Duration]>([])

        var now: Duration { elapsed.withLock { $0 } }
        func advance(_ duration: Duration) { elapsed.withLock { $0 += duration } }

        func policy(_ jitter: Jitter, base: RetryPolicy = .default) -> RetryPolicy {
            var policy = base
            policy.clock = RetryClock(
                now: { self.now },
                sleep: { duration in
                    self.sleeps.withLock { $0.append(duration) }
                    self.advance(duration)
                })
            switch jitter {
            case .ceiling: policy.random = { 1 }
            case .quarter: policy.random = { 0.25 }
            case .none: policy.random = { 0 }
            case .seeded:
                let state = Mutex<UInt64>(0x9E37_79B9_7F4A_7C15)
                policy.random = {
                    state.withLock { seed in
                        seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                        return Double(seed >> 11) / Double(1 << 53)
                    }
                }
            }
            return policy
        }
    }

    /// What the server does to the attempt that starts at `time`, given its number.
    enum Fault {
        case answer(Int)
        case stall
        case reset
        case refused
        case ok
    }

    /// Runs the real loop with `fault` deciding each attempt; an attempt takes 20 ms, or the stall threshold
    /// when it stalls.
    func run(
        _ policy: RetryPolicy, time: VirtualTime, health: EndpointHealth? = nil, rates: EndpointRates? = nil,
        fault: @escaping (_ number: Int, _ time: Duration) -> Fault
    ) async throws -> (value: String, attempts: Int) {
        let count = Mutex(0)
        let value: String = try await policy.run(
            request: "GET \(Self.endpoint)/bucket/key", endpoint: Self.endpoint, timeout: nil, health: health,
            rates: rates, logger: HTTPClient.noLogger
        ) { number, _ in
            count.withLock { $0 = number }
            switch fault(number, time.now) {
            case .ok:
                time.advance(.milliseconds(20))
                return .success("ok")
            case .answer(let status):
                time.advance(.milliseconds(20))
                return .retryableAnswer("\(status)", status: status, retryAfter: nil)
            case .stall:
                time.advance(Self.stallTimeout)
                return .transientFailure(HTTPClientError(code: .timedOut, message: "the transfer stalled"))
            case .reset:
                time.advance(.milliseconds(1))
                return .transientFailure(HTTPClientError(code: .connectionLost, message: "connection reset by peer"))
            case .refused:
                time.advance(.milliseconds(1))
                return .transientFailure(HTTPClientError(code: .connectionFailed, message: "connection refused"))
            }
        }
        return (value, count.withLock { $0 })
    }

    @Test("30 s of 503 SlowDown: the request succeeds", arguments: Jitter.realistic)
    func thirtySecondsOfSlowDown(jitter: Jitter) async throws {
        let time = VirtualTime()
        let result = try await run(time.policy(jitter), time: time) { _, now in
            now < .seconds(30) ? .answer(503) : .ok
        }
        #expect(result.value == "ok")
        #expect(time.now >= .seconds(30))
        #expect(result.attempts > 3, "the AWS SDKs' standard mode gives up after 3")
    }

    @Test("Two transfers stalled for 90 s: both detected and retried, the third attempt succeeds",
        arguments: Jitter.realistic)
    func twoNinetySecondStalls(jitter: Jitter) async throws {
        let time = VirtualTime()
        let result = try await run(time.policy(jitter), time: time) { number, _ in number <= 2 ? .stall : .ok }
        #expect(result.value == "ok")
        #expect(result.attempts == 3)
        #expect(Self.stallTimeout < .seconds(90), "a 90 s stall is detected before it ends")
    }

    @Test("A server silent for 90 s, every transfer stalling until it answers again: lived through",
        arguments: Jitter.realistic)
    func ninetySecondsOfSilence(jitter: Jitter) async throws {
        let time = VirtualTime()
        let result = try await run(time.policy(jitter), time: time) { _, now in now < .seconds(90) ? .stall : .ok }
        #expect(result.value == "ok")
        #expect(result.attempts == 3)
    }

    @Test("50 connection resets in a row on one request: the 51st attempt succeeds", arguments: Jitter.realistic)
    func fiftyResets(jitter: Jitter) async throws {
        let time = VirtualTime()
        let result = try await run(time.policy(jitter), time: time) { number, _ in number <= 50 ? .reset : .ok }
        #expect(result.value == "ok")
        #expect(result.attempts == 51)
    }

    @Test("30 s of 503s, then two 90 s stalls, then 50 resets, all on one request: it still succeeds",
        arguments: Jitter.realistic)
    func everyTroubleOnOneRequest(jitter: Jitter) async throws {
        let time = VirtualTime()
        let stalls = Mutex(0)
        let resets = Mutex(0)
        let result = try await run(time.policy(jitter), time: time) { _, now in
            if now < .seconds(30) { return .answer(503) }
            if stalls.withLock({ count in count += 1; return count <= 2 }) { return .stall }
            if resets.withLock({ count in count += 1; return count <= 50 }) { return .reset }
            return .ok
        }
        #expect(result.value == "ok")
        #expect(resets.withLock { $0 } == 51)
    }

    @Test("An outage that never ends gives up within the documented bound, naming the endpoint",
        arguments: Jitter.allCases, [Fault.stall, .reset, .refused])
    func endlessOutage(jitter: Jitter, fault: Fault) async throws {
        let time = VirtualTime()
        let policy = time.policy(jitter)
        let bound = policy.giveUpBound(stallTimeout: Self.stallTimeout, connectTimeout: Self.connectTimeout)
        #expect(bound == .seconds(360), "the figure docs/RELIABILITY.md states")
        let error = await #expect(throws: HTTPClientError.self) {
            _ = try await run(policy, time: time) { _, _ in fault }
        }
        #expect(time.now <= bound)
        #expect(error?.message.contains("\(Self.endpoint) still failing after") == true)
        #expect((error?.attempts ?? 0) > 1)
        if case .refused = fault { #expect(time.now <= policy.unreachableBudget + Self.connectTimeout) }
    }

    @Test("Endless 503s: the last answer is returned within the budget", arguments: Jitter.allCases)
    func endlessSlowDown(jitter: Jitter) async throws {
        let time = VirtualTime()
        let policy = time.policy(jitter)
        let result = try await run(policy, time: time) { _, _ in .answer(503) }
        #expect(result.value == "503")
        #expect(result.attempts > 3)
        #expect(time.now <= policy.budget)
    }

    @Test("After one request gave up on an endpoint, the next gets one attempt; a success restores retries")
    func anEndpointThatOutlastedTheBudgetFailsFast() async throws {
        let time = VirtualTime()
        let policy = time.policy(.seeded)
        let health = EndpointHealth()
        await #expect(throws: HTTPClientError.self) {
            _ = try await run(policy, time: time, health: health) { _, _ in .reset }
        }
        #expect(health.isDown(Self.endpoint))
        let attempts = Mutex(0)
        let error = await #expect(throws: HTTPClientError.self) {
            _ = try await run(policy, time: time, health: health) { number, _ in
                attempts.withLock { $0 = number }
                return .reset
            }
        }
        #expect(attempts.withLock { $0 } == 1)
        #expect(error?.message.contains("not retried: \(Self.endpoint) is taken as down") == true)
        _ = try await run(policy, time: time, health: health) { _, _ in .ok }
        #expect(!health.isDown(Self.endpoint))
        let result = try await run(policy, time: time, health: health) { number, _ in number <= 3 ? .reset : .ok }
        #expect(result.attempts == 4)
    }

    @Test("Backoffs follow the policy: no wait is longer than its ceiling, none past the budget")
    func backoffsStayWithinTheirCeilings() async throws {
        let time = VirtualTime()
        let policy = time.policy(.ceiling)
        _ = try await run(policy, time: time) { number, _ in number <= 10 ? .reset : .ok }
        let sleeps = time.sleeps.withLock { $0 }
        #expect(sleeps == [
            .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(1600),
            .seconds(2), .seconds(2), .seconds(2), .seconds(2), .seconds(2),
        ])
    }

    @Test("In adaptive mode a SlowDown paces the later requests to its endpoint; in standard mode nothing does")
    func adaptiveModePacesAfterAThrottle() async throws {
        for mode in RetryPolicy.Mode.allCases {
            let time = VirtualTime()
            var policy = time.policy(.ceiling)
            policy.mode = mode
            let rates = EndpointRates()
            // Requests back to back (20 ms each: 50 a second), then one throttled: the rate drops to 70% of that.
            for _ in 0..<100 {
                _ = try await run(policy, time: time, rates: rates) { _, _ in .ok }
            }
            let result = try await run(policy, time: time, rates: rates) { number, _ in
                number == 1 ? .answer(503) : .ok
            }
            #expect(result.attempts == 2)
            time.sleeps.withLock { $0.removeAll() }
            for _ in 0..<40 {
                _ = try await run(policy, time: time, rates: rates) { _, _ in .ok }
            }
            let paced = time.sleeps.withLock { $0 }
            switch mode {
            case .standard:
                #expect(paced.isEmpty)
                #expect(rates.limiter(of: Self.endpoint) == nil)
            case .adaptive:
                let limiter = try #require(rates.limiter(of: Self.endpoint))
                #expect(limiter.isPacing)
                // Back to back at 20 ms each, above the paced rate: most wait their turn.
                #expect(paced.count >= 10)
            }
        }
    }
}
