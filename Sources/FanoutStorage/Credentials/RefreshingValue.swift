import FanoutHTTP
public import Foundation
public import Logging

/// Holds a value that expires (temporary credentials, an access token) and fetches it again shortly before it
/// does, one fetch at a time.
///
/// A value whose `expiration` is `nil` is kept until ``invalidate()``. Others are fetched again once `now()` is
/// within ``refreshMargin`` of their expiration. However many tasks ask at once, `fetch` runs once: later callers
/// await the fetch already in flight.
///
/// A failed fetch is thrown to every caller waiting on it, unless the held value has not expired yet: that is
/// returned, and the next call tries again. A `nil` answer is not kept. A caller that is cancelled still waits for
/// the fetch in flight, which `fetch` bounds (its requests have timeouts).
///
/// ``ExpiringCredentials`` is this holder for AWS credentials.
public actor RefreshingValue<Value: Sendable> {
    /// How long before expiration the value is fetched again.
    public nonisolated let refreshMargin: Duration
    private let fetch: @Sendable () async throws -> Value?
    private let expiration: @Sendable (Value) -> Date?
    private let now: @Sendable () -> Date
    private let logger: Logger
    private let label: String
    private var held: Value?
    private var refresh: Task<Value?, any Error>?
    /// Fetches started so far.
    public private(set) var fetchCount = 0
    /// Callers awaiting a fetch right now; tests wait on it to line up concurrent callers.
    private(set) var waitingCallers = 0

    /// - Parameters:
    ///   - label: What is held, for logs: `AWS credentials`, `an access token`.
    ///   - refreshMargin: How long before expiration to fetch again.
    ///   - now: The current time. Default: the system clock; tests inject their own.
    ///   - logger: Where fetches are logged, at debug level.
    ///   - expiration: When a value expires; `nil` for never.
    ///   - fetch: Gets a fresh value, or `nil` when there is none.
    public init(
        label: String,
        refreshMargin: Duration,
        now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger,
        expiration: @escaping @Sendable (Value) -> Date?,
        fetch: @escaping @Sendable () async throws -> Value?
    ) {
        self.label = label
        self.refreshMargin = refreshMargin
        self.now = now
        self.logger = logger
        self.expiration = expiration
        self.fetch = fetch
    }

    /// The held value, fetched first when missing or about to expire.
    ///
    /// - Throws: `fetch`'s error, when there is no unexpired value to fall back on.
    public func value() async throws -> Value? {
        if let held, !isDue(held) { return held }
        let task: Task<Value?, any Error>
        if let refresh {
            task = refresh
        } else {
            task = Task { try await self.performFetch() }
            refresh = task
        }
        waitingCallers += 1
        defer { waitingCallers -= 1 }
        do {
            return try await task.value
        } catch {
            if let held, let expiry = expiration(held), expiry > now() {
                logger.debug("refreshing \(label) failed; using the current one", metadata: ["error": "\(error)"])
                return held
            }
            throw error
        }
    }

    /// Forgets the held value; the next call fetches. A fetch in flight is not interrupted.
    public func invalidate() {
        held = nil
    }

    private func performFetch() async throws -> Value? {
        defer { refresh = nil }
        fetchCount += 1
        logger.debug("fetching \(label)")
        let fresh = try await fetch()
        held = fresh
        return fresh
    }

    private func isDue(_ value: Value) -> Bool {
        guard let expiry = expiration(value) else { return false }
        return expiry.timeIntervalSince(now()) <= refreshMargin.inSeconds
    }
}
