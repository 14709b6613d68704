/// Where a Google access token comes from: a service-account key, a gcloud user's refresh token, the metadata
/// server. Each fetch asks for a new token.
public protocol GoogleCredentialProvider: Sendable {
    /// A fresh token.
    /// - Throws: ``CredentialError`` when the source refuses or cannot be reached.
    func fetchToken() async throws -> GoogleAccessToken

    /// What signs as this identity, when it can sign locally (a service-account key); `nil` otherwise.
    func signer() async throws -> GoogleSigner?

    /// The service account the tokens are of, when the source says (the metadata server); `nil` otherwise.
    func serviceAccountEmail() async throws -> String?
}

extension GoogleCredentialProvider {
    /// No signer of its own: only a service-account key signs locally.
    public func signer() async throws -> GoogleSigner? { nil }

    /// No service account: a gcloud user's credentials name none.
    public func serviceAccountEmail() async throws -> String? { nil }
}
