public import Foundation
public import Logging

/// Where a Google access token comes from: a service-account key, a gcloud user's refresh token, the metadata
/// server. Each fetch asks for a new token.
public protocol GoogleCredentialProvider: Sendable {
    /// A fresh token.
    /// - Throws: ``CredentialError`` when the source refuses or cannot be reached.
    func fetchToken() async throws -> GoogleAccessToken

    /// What signs as this identity, when it can sign locally (a service-account key); `nil` otherwise.
    func signer() async throws -> GoogleSigner?
}

/// A Google access token held and refreshed before it expires, one refresh at a time (``RefreshingValue``).
public final class GoogleCredentials: Sendable {
    /// Google's client libraries refresh 3 minutes 45 seconds before expiry; so does this.
    public static let refreshMargin: Duration = .seconds(225)

    private let holder: RefreshingValue<GoogleAccessToken>
    private let provider: any GoogleCredentialProvider

    /// - Parameters:
    ///   - now: The current time. Default: the system clock; tests inject their own.
    public init(
        provider: some GoogleCredentialProvider,
        now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger = CredentialProviderChain.noLogger
    ) {
        self.provider = provider
        holder = RefreshingValue(
            label: "a Google access token", refreshMargin: Self.refreshMargin, now: now, logger: logger,
            expiration: { $0.expiration }, fetch: { try await provider.fetchToken() })
    }

    /// The current token, fetched first when there is none or it is about to expire.
    /// - Throws: ``CredentialError`` when no token can be had.
    public func accessToken() async throws -> String {
        guard let token = try await holder.value() else {
            throw CredentialError(code: .noCredentials, message: "no Google access token was returned")
        }
        return token.token
    }

    /// What signs URLs as these credentials: a service-account key's; `nil` for other credentials.
    public func signer() async throws -> GoogleSigner? { try await provider.signer() }

    /// Tokens fetched so far.
    public var fetchCount: Int { get async { await holder.fetchCount } }
}
