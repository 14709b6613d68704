public import FanoutHTTP
public import Foundation
public import Logging

/// A Google access token held and refreshed before it expires, one refresh at a time (``RefreshingValue``).
public final class GoogleCredentials: Sendable {
    /// Google's client libraries refresh 3 minutes 45 seconds before expiry; so does this.
    public static let refreshMargin: Duration = .seconds(225)

    private let holder: RefreshingValue<GoogleAccessToken>
    private let provider: any GoogleCredentialProvider
    private let iamCredentials: IAMCredentialsSignBlob

    /// - Parameters:
    ///   - iamCredentialsEndpoint: The IAM Credentials API, which signs for credentials without a key. Default
    ///     `https://iamcredentials.googleapis.com`.
    ///   - now: The current time. Default: the system clock; tests inject their own.
    public init(
        provider: some GoogleCredentialProvider,
        iamCredentialsEndpoint: URL = IAMCredentialsSignBlob.defaultEndpoint,
        httpClient: HTTPClient = .shared,
        now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger = CredentialProviderChain.noLogger
    ) {
        self.provider = provider
        self.iamCredentials = IAMCredentialsSignBlob(endpoint: iamCredentialsEndpoint, http: httpClient)
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

    /// What signs URLs as these credentials: a service-account key, else the IAM Credentials API's `signBlob` as the
    /// metadata server's service account (with this token); `nil` for a gcloud user.
    public func signer() async throws -> GoogleSigner? {
        if let local = try await provider.signer() { return local }
        guard let email = try await provider.serviceAccountEmail() else { return nil }
        let iamCredentials = self.iamCredentials
        return GoogleSigner(email: email) { [self] data in
            try await iamCredentials.sign(data, as: email, token: try await accessToken())
        }
    }

    /// Tokens fetched so far.
    public var fetchCount: Int { get async { await holder.fetchCount } }
}
