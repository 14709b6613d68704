import Foundation

/// The rate a client keeps to one endpoint that throttles it: the AWS SDKs' "adaptive" retry mode, as a pure state
/// machine. Time is given to it, and it never sleeps: ``reserve(now:)`` says how long to wait.
///
/// - Until the first throttling answer, nothing is paced; the rate answers arrive at is measured all along (over
///   half-second intervals, smoothed).
/// - A throttling answer lowers the send rate to β (0.7) times the rate of the moment (the lower of the measured
///   rate and the send rate), which is remembered as the ceiling *W*; pacing starts. The bucket is emptied and
///   the turns given before are cancelled: their waiters ask again when they wake (``isCurrent(_:)``), so a queue
///   of requests paced at the old rate does not go out at it. An answer to a request that asked for its turn
///   before the last decrease lowers nothing more: it was paced at the rate already given up.
/// - Every other answer sets the send rate on a cubic of the time *t* since the last decrease, as CUBIC does for
///   TCP: `C (t − K)³ + W`, with `C` = 0.4 and `K = ∛(W (1 − β) / C)`. The rate climbs back quickly towards *W*,
///   lingers near it, then probes beyond. It never exceeds twice the measured rate, nor falls below 0.5 a second.
/// - Requests take tokens from a bucket that fills at the send rate and holds one second's worth (at least one).
struct AdaptiveRateLimiter: Sendable {
    /// A place in the queue for one attempt.
    struct Turn: Sendable, Equatable {
        /// How long to wait before sending: zero when not pacing or when a token was there.
        var wait: Duration
        /// The number of decreases when the turn was given; a later decrease cancels it.
        var round: Int
    }

    /// The share of the rate kept on a throttling answer.
    static let beta = 0.7
    /// How fast the cubic grows, in requests per second per second cubed.
    static let scale = 0.4
    /// The lowest send rate, in requests a second.
    static let minimumRate = 0.5
    /// The send rate never exceeds this many times the measured rate.
    static let growthLimit = 2.0
    /// The measured rate is updated once per interval of this many seconds...
    static let meterInterval = 0.5
    /// ...as this share of the last interval's rate plus the rest of the former measure.
    static let smoothing = 0.8

    /// Whether requests are paced: from the first throttling answer on.
    private(set) var isPacing = false
    /// Requests a second the token bucket allows while pacing.
    private(set) var sendRate = minimumRate
    /// Requests a second that answers arrive at, smoothed.
    private(set) var measuredRate = 0.0

    /// Decreases so far.
    private(set) var round = 0
    private var tokens = 0.0
    private var capacity = 1.0
    private var lastRefill: Double
    private var ceiling = 0.0
    private var plateau = 0.0
    private var lastDecrease: Double
    private var meterCount = 0
    private var meterStart: Double

    /// - Parameter now: The time the limiter is made, on the clock every later call uses.
    init(now: Duration) {
        let time = now.inSeconds
        lastRefill = time
        lastDecrease = time
        meterStart = (time / Self.meterInterval).rounded(.down) * Self.meterInterval
    }

    /// Takes a token for one attempt about to be sent.
    ///
    /// - Returns: The attempt's turn: how long to wait before sending it. Tokens are reserved in order (the bucket
    ///   goes into debt), so concurrent requests are spaced by the send rate.
    mutating func reserve(now: Duration) -> Turn {
        guard isPacing else { return Turn(wait: .zero, round: round) }
        refill(at: now.inSeconds)
        tokens -= 1
        let wait = tokens >= 0 ? Duration.zero : .milliseconds(Int64((-tokens / sendRate * 1000).rounded(.up)))
        return Turn(wait: wait, round: round)
    }

    /// Whether a turn still stands: no decrease came after it was given. A waiter whose turn was cancelled asks
    /// for another.
    func isCurrent(_ turn: Turn) -> Bool { turn.round == round }

    /// Takes in the outcome of one attempt.
    ///
    /// - Parameters:
    ///   - throttled: Whether the server answered that the client sends too fast (`503 SlowDown`, `429`).
    ///   - askedAt: When the attempt asked for its turn (``reserve(now:)``, before its wait).
    ///   - now: When its outcome came.
    mutating func record(throttled: Bool, askedAt: Duration, now: Duration) {
        let time = now.inSeconds
        measure(at: time)
        let target: Double
        if throttled {
            if isPacing && askedAt.inSeconds < lastDecrease { return }
            let current = isPacing ? min(rateOfTheMoment(at: time), sendRate) : rateOfTheMoment(at: time)
            ceiling = current
            plateau = cbrt(ceiling * (1 - Self.beta) / Self.scale)
            lastDecrease = time
            isPacing = true
            target = current * Self.beta
        } else {
            target = Self.scale * pow(time - lastDecrease - plateau, 3) + ceiling
        }
        setSendRate(min(target, Self.growthLimit * rateOfTheMoment(at: time)), at: time)
        if throttled {
            tokens = 0
            round += 1
        }
    }

    /// The measured rate; before the first interval has ended, the answers so far over the time so far, so that
    /// a throttle in the first half second (a process that starts at full speed) does not take the rate for zero.
    private func rateOfTheMoment(at time: Double) -> Double {
        guard measuredRate == 0 else { return measuredRate }
        return Double(meterCount) / max(time - meterStart, Self.meterInterval / 5)
    }

    private mutating func refill(at time: Double) {
        tokens = min(capacity, tokens + max(0, time - lastRefill) * sendRate)
        lastRefill = max(lastRefill, time)
    }

    private mutating func setSendRate(_ rate: Double, at time: Double) {
        refill(at: time)
        sendRate = max(rate, Self.minimumRate)
        capacity = max(rate, 1)
        tokens = min(tokens, capacity)
    }

    private mutating func measure(at time: Double) {
        meterCount += 1
        let interval = (time / Self.meterInterval).rounded(.down) * Self.meterInterval
        guard interval > meterStart else { return }
        let rate = Double(meterCount) / (interval - meterStart)
        measuredRate = rate * Self.smoothing + measuredRate * (1 - Self.smoothing)
        meterCount = 0
        meterStart = interval
    }
}
