public import FanoutSigV4
/// A source of AWS credentials: the environment, a profile, a web identity token, or a fixed key pair.
///
/// The contract that lets providers be chained:
/// - `nil` means "not configured here": the ``CredentialProviderChain`` asks the next provider.
/// - A thrown ``CredentialError`` means configured but broken (half a key pair, an unreadable token file, STS
///   refusing the token): the chain stops there and reports it, rather than silently using other credentials.
///
/// Providers do no caching; wrap one in ``ExpiringCredentials`` so that temporary credentials are fetched once and
/// refreshed before they expire.
public protocol AWSCredentialProvider: Sendable {
    /// Returns credentials, `nil` when this provider is not configured, or throws when it is but fails.
    func credentials() async throws -> AWSCredentials?
}
