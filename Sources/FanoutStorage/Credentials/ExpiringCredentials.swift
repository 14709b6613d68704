public import FanoutSigV4
public import Foundation
public import Logging

/// AWS credentials held by a ``RefreshingValue``: fetched from a provider once, and again shortly before their
/// ``AWSCredentials/expiration``, one refresh at a time. Credentials without an expiration are kept until
/// ``RefreshingValue/invalidate()``.
public typealias ExpiringCredentials = RefreshingValue<AWSCredentials>

extension RefreshingValue: AWSCredentialProvider where Value == AWSCredentials {
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
        self.init(
            label: "AWS credentials", refreshMargin: refreshMargin, now: now, logger: logger,
            expiration: { $0.expiration }, fetch: { try await provider.credentials() })
    }

    /// The held credentials, refreshed first when missing or about to expire.
    ///
    /// - Throws: The provider's error, when there are no unexpired credentials to fall back on.
    public func credentials() async throws -> AWSCredentials? {
        try await value()
    }
}
