public import Foundation

/// An AWS access key pair, with the session token and expiry of temporary credentials.
///
/// The secret and the session token never appear in `description`, `debugDescription` or `dump`.
public struct AWSCredentials: Sendable, Hashable {
    /// The access key ID, such as `AKIAIOSFODNN7EXAMPLE`. Not a secret: it appears in every signed request.
    public var accessKeyID: String
    /// The secret access key that signing keys are derived from. Never sent, never printed.
    public var secretAccessKey: String
    /// The session token of temporary credentials (STS, SSO, instance roles), sent as
    /// `x-amz-security-token`; `nil` (the default) for long-term keys.
    public var sessionToken: String?
    /// When temporary credentials stop working; `nil` (the default) when they do not expire.
    /// The signer does not check it: refreshing is the credential provider's job.
    public var expiration: Date?

    /// Creates credentials from their parts.
    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }
}
