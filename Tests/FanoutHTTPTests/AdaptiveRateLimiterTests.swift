import Foundation
import Testing

@testable import FanoutHTTP

/// The adaptive rate as a state machine, on given times: no sleeps, no server.
@Suite struct AdaptiveRateLimiterTests {
    static func at(_ seconds: Double) -> Duration { .nanoseconds(Int64((seconds * 1e9).rounded())) }

    /// A limiter that has seen `rate` answers a second, all successes, from time 0 to `until`.
    static func limiter(measuring rate: Double, until end: Double) -> AdaptiveRateLimiter {
        var limiter = AdaptiveRateLimiter(now: .zero)
        var time = 0.0
        while time < end {
            time += 1 / rate
            limiter.record(throttled: false, askedAt: at(time - 0.01), now: at(time))
        }
        return limiter
    }

    @Test("Nothing is paced until the first throttling answer")
    func nothingIsPacedBeforeTheFirstThrottle() {
        var limiter = Self.limiter(measuring: 200, until: 5)
        #expect(!limiter.isPacing)
        for index in 0..<1000 {
            #expect(limiter.reserve(now: Self.at(5 + Double(index) / 1000)).wait == .zero)
        }
    }

    @Test("A throttling answer sets the send rate to 70% of the measured rate and starts pacing")
    func aThrottleCutsTheRate() {
        var limiter = Self.limiter(measuring: 200, until: 3)
        #expect(limiter.measuredRate > 190 && limiter.measuredRate <= 200)
        limiter.record(throttled: true, askedAt: Self.at(3), now: Self.at(3.01))
        #expect(limiter.isPacing)
        #expect(abs(limiter.sendRate - 0.7 * limiter.measuredRate) < 1e-9)
    }

    @Test("While pacing, requests sent at once are spaced by the send rate, in order")
    func pacingSpacesRequests() {
        var limiter = Self.limiter(measuring: 100, until: 3)
        limiter.record(throttled: true, askedAt: Self.at(3), now: Self.at(3))
        let rate = limiter.sendRate
        let waits = (0..<20).map { _ in limiter.reserve(now: Self.at(3)).wait }
        // The decrease dropped the tokens saved up: each request waits one interval of 1/rate more than the last.
        for (index, wait) in waits.enumerated() {
            #expect(abs(wait.inSeconds - Double(index + 1) / rate) <= 0.001)
        }
        // Once the waits have passed, the debt is paid and a token is there again.
        #expect(limiter.reserve(now: Self.at(3 + 22 / rate)).wait == .zero)
    }

    @Test("A decrease cancels the turns given before it: their waiters ask again, at the new rate")
    func aDecreaseCancelsTheQueue() {
        var limiter = Self.limiter(measuring: 100, until: 3)
        limiter.record(throttled: true, askedAt: Self.at(3), now: Self.at(3))
        let queued = (0..<10).map { _ in limiter.reserve(now: Self.at(3)) }
        #expect(queued.allSatisfy { limiter.isCurrent($0) })
        limiter.record(throttled: true, askedAt: Self.at(3), now: Self.at(3.01))
        #expect(queued.allSatisfy { !limiter.isCurrent($0) })
        // The debt of the cancelled turns is forgiven: the first to ask again waits one interval of the new rate.
        let again = limiter.reserve(now: Self.at(3.01))
        #expect(limiter.isCurrent(again))
        #expect(abs(again.wait.inSeconds - 1 / limiter.sendRate) <= 0.001)
    }

    @Test("An answer to a request that asked for its turn before the last decrease lowers nothing more; later ones do")
    func oneDecreasePerRound() {
        var limiter = Self.limiter(measuring: 100, until: 3)
        limiter.record(throttled: true, askedAt: Self.at(2.99), now: Self.at(3))
        let first = limiter.sendRate
        limiter.record(throttled: true, askedAt: Self.at(2.995), now: Self.at(3.001))
        #expect(limiter.sendRate == first)
        limiter.record(throttled: true, askedAt: Self.at(3.002), now: Self.at(3.01))
        #expect(limiter.sendRate < first * 0.75)
    }

    @Test("After a decrease the rate climbs back along a cubic to the rate it had, lingers, then probes beyond")
    func theRateClimbsBackAndProbes() throws {
        var limiter = Self.limiter(measuring: 100, until: 3)
        limiter.record(throttled: true, askedAt: Self.at(3), now: Self.at(3))
        let ceiling = limiter.sendRate / 0.7
        // K = ∛(W × 0.3 / 0.4): the time the cubic takes back to W.
        let plateau = cbrt(ceiling * 0.3 / 0.4)
        var rates: [Double: Double] = [:]
        var time = 3.0
        while time < 3 + plateau + 4 {
            time += 0.01  // answers keep coming at 100 a second, so the measured rate does not cap the probe
            limiter.record(throttled: false, askedAt: Self.at(time - 0.005), now: Self.at(time))
            for mark in [plateau / 2, plateau, plateau + 1, plateau + 4] where abs(time - 3 - mark) < 0.005 {
                rates[mark] = limiter.sendRate
            }
        }
        let half = try #require(rates[plateau / 2])
        #expect(half > 0.7 * ceiling && half < ceiling)
        #expect(try abs(#require(rates[plateau]) - ceiling) < 0.5)
        let probe = try #require(rates[plateau + 1])
        #expect(probe > ceiling && probe < ceiling + 1)
        #expect(try #require(rates[plateau + 4]) > ceiling + 20)
    }

    @Test("The send rate never exceeds twice the measured rate")
    func neverAboveTwiceTheMeasuredRate() {
        var limiter = Self.limiter(measuring: 100, until: 3)
        limiter.record(throttled: true, askedAt: Self.at(3), now: Self.at(3))
        // A minute later, answers come at 5 a second: the cubic alone would allow thousands.
        var time = 63.0
        while time < 66 {
            time += 0.2
            limiter.record(throttled: false, askedAt: Self.at(time - 0.01), now: Self.at(time))
        }
        #expect(limiter.sendRate <= 2 * limiter.measuredRate + 1e-9)
        #expect(limiter.sendRate < 11)
    }

    @Test(
        "Against a server that admits 50 a second, requests in flight get over 90% of it through, under 5% throttled",
        arguments: [4, 16, 64])
    func aClosedLoopAgainstAThrottlingServer(clients: Int) {
        let result = ThrottledServerSimulation(rate: 50, clients: clients, latency: 0.01).run(seconds: 120)
        // After the first seconds (the first throttles come at full speed), over 90% of the rate gets through.
        #expect(Double(result.admittedAfterWarmUp) / (50 * 110) > 0.9)
        #expect(Double(result.throttled) / Double(result.admitted + result.throttled) < 0.05)
        #expect(result.admitted <= 50 * 120 + 50)
    }
}

/// A closed loop on a virtual clock: `clients` requests in flight through one ``AdaptiveRateLimiter``, each
/// answered `latency` after it is sent by a server that admits `rate` requests a second (a token bucket holding one
/// second's worth, as the fault proxy's throttle) and answers the rest `503 SlowDown`. A throttled request is sent
/// again at once: only the limiter holds it back. Waiting for a turn works as in `RetryPolicy.run`: a waiter whose
/// turn a decrease cancelled asks again.
struct ThrottledServerSimulation {
    var rate: Double
    var clients: Int
    var latency: Double

    struct Result {
        var admitted = 0
        var throttled = 0
        /// Admitted from the 10th second on.
        var admittedAfterWarmUp = 0
    }

    enum Step {
        case ready
        case waited(askedAt: Double, turn: AdaptiveRateLimiter.Turn)
        case sent(askedAt: Double)
        case answered(admitted: Bool, askedAt: Double, sentAt: Double)
    }

    func run(seconds: Double) -> Result {
        var limiter = AdaptiveRateLimiter(now: .zero)
        var tokens = rate
        var lastRefill = 0.0
        var result = Result()
        var clock = [Double](repeating: 0, count: clients)
        var steps = [Step](repeating: .ready, count: clients)
        func at(_ seconds: Double) -> Duration { .nanoseconds(Int64((seconds * 1e9).rounded())) }
        while true {
            let client = clock.indices.min { clock[$0] < clock[$1] }!
            let now = clock[client]
            if now > seconds { return result }
            switch steps[client] {
            case .ready:
                let turn = limiter.reserve(now: at(now))
                clock[client] += turn.wait.inSeconds
                steps[client] = turn.wait > .zero ? .waited(askedAt: now, turn: turn) : .sent(askedAt: now)
            case .waited(let askedAt, let turn):
                steps[client] = limiter.isCurrent(turn) ? .sent(askedAt: askedAt) : .ready
            case .sent(let askedAt):
                tokens = min(rate, tokens + (now - lastRefill) * rate)
                lastRefill = now
                let admitted = tokens >= 1
                if admitted { tokens -= 1 }
                clock[client] += latency
                steps[client] = .answered(admitted: admitted, askedAt: askedAt, sentAt: now)
            case .answered(let admitted, let askedAt, let sentAt):
                limiter.record(throttled: !admitted, askedAt: at(askedAt), now: at(now))
                if admitted {
                    result.admitted += 1
                    if sentAt >= 10 { result.admittedAfterWarmUp += 1 }
                } else {
                    result.throttled += 1
                }
                steps[client] = .ready
            }
        }
    }
}
