import FanoutHTTP
public import FanoutSigV4
public import Foundation
public import Logging

/// Caches a provider's credentials and refreshes them shortly before they expire, one refresh at a time.
///
/// Credentials without an ``AWSCredentials/expiration`` are kept until ``invalidate()``. Temporary ones are
/// fetched again once `now()` is within ``refreshMargin`` of their expiration. However many tasks ask at once,
/// the provider is called once: later callers await the refresh already in flight.
///
/// A failed refresh is thrown to every caller waiting on it, unless the old credentials have not expired yet:
/// those are returned, and the next call tries again. A `nil` answer is not cached. A caller that is cancelled
/// still waits for the refresh in flight, which the provider bounds (STS calls have a timeout).
public actor ExpiringCredentials: AWSCredentialProvider {
    public nonisolated let provider: any AWSCredentialProvider
    /// How long before expiration credentials are refreshed. Default 5 minutes.
    public nonisolated let refreshMargin: Duration
    private let now: @Sendable () -> Date
    private let logger: Logger
    private var cached: AWSCredentials?
    private var refresh: Task<AWSCredentials?, any Error>?
    /// Callers awaiting a refresh right now; tests wait on it to line up concurrent callers.
    private(set) var waitingCallers = 0

    /// - Parameters:
    ///   - provider: Where credentials come from.
    ///   - refreshMargin: How long before expiration to refresh. Default 5 minutes.
    ///   - now: The current time. Default: the system clock; tests inject their own.
    ///   - logger: Where refreshes are logged, at debug level.
    public init(
        provider: any AWSCredentialProvider,
        refreshMargin: Duration = .seconds(300),
        now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger = CredentialProviderChain.noLogger
    ) {
        self.provider = provider
        self.refreshMargin = refreshMargin
        self.now = now
        self.logger = logger
    }

    /// The cached credentials, refreshed first when missing or about to expire.
    ///
    /// - Throws: The provider's error, when there are no unexpired credentials to fall back on.
    public func credentials() async throws -> AWSCredentials? {
        if let cached, !isDue(cached) { return cached }
        let task: Task<AWSCredentials?, any Error>
        if let refresh {
            task = refresh
        } else {
            task = Task { try await self.performRefresh() }
            refresh = task
        }
        waitingCallers += 1
        defer { waitingCallers -= 1 }
        do {
            return try await task.value
        } catch {
            if let cached, let expiration = cached.expiration, expiration > now() {
                logger.debug("credential refresh failed; using the current ones", metadata: ["error": "\(error)"])
                return cached
            }
            throw error
        }
    }

    /// Forgets the cached credentials; the next call asks the provider. A refresh in flight is not interrupted.
    public func invalidate() {
        cached = nil
    }

    private func performRefresh() async throws -> AWSCredentials? {
        defer { refresh = nil }
        logger.debug("fetching AWS credentials", metadata: ["provider": "\(type(of: provider))"])
        let fresh = try await provider.credentials()
        cached = fresh
        return fresh
    }

    private func isDue(_ credentials: AWSCredentials) -> Bool {
        guard let expiration = credentials.expiration else { return false }
        let margin = refreshMargin.inSeconds
        return expiration.timeIntervalSince(now()) <= margin
    }
}
