import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The token `aws sso login` caches in `~/.aws/sso/cache/SHA1.json`, with the client registration that lets it be
/// refreshed (written for `sso_session` profiles only).
struct SSOCachedToken: Codable, Sendable, Equatable {
    var startUrl: String?
    var region: String?
    var accessToken: String
    /// ISO 8601, as the AWS CLI writes it: `2025-01-01T12:00:00Z`.
    var expiresAt: String
    var clientId: String?
    var clientSecret: String?
    var registrationExpiresAt: String?
    var refreshToken: String?

    /// When the access token expires; `nil` when ``expiresAt`` is not a time.
    var expiration: Date? { WebIdentityCredentialProvider.parseTimestamp(expiresAt) }

    /// The client id, secret and refresh token, when all are there and the registration has not expired.
    func refreshGrant(now: Date) -> (clientID: String, clientSecret: String, refreshToken: String)? {
        guard let clientId, let clientSecret, let refreshToken, let registrationExpiresAt,
            let registrationExpiry = WebIdentityCredentialProvider.parseTimestamp(registrationExpiresAt),
            registrationExpiry > now
        else { return nil }
        return (clientId, clientSecret, refreshToken)
    }
}

/// Reads and writes the SSO token cache file of one session name or start URL.
struct SSOTokenCache: Sendable {
    /// The cache file: `~/.aws/sso/cache/` and the SHA-1 of the session name (or, legacy, of the start URL).
    let path: String

    init(key: String, environment: AWSEnvironment) {
        let digest = Insecure.SHA1.hash(data: Data(key.utf8)).map { String(format: "%02x", $0) }.joined()
        path = environment.expandingTilde(in: "~/.aws/sso/cache/\(digest).json")
    }

    /// The cached token; `nil` when the file is missing or holds no token.
    func load() -> SSOCachedToken? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(SSOCachedToken.self, from: data)
    }

    /// Replaces the file with `token`, atomically, readable by the owner only.
    func save(_ token: SSOCachedToken) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(token)
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        let created = FileManager.default.createFile(
            atPath: temporary.path, contents: data, attributes: [.posixPermissions: 0o600])
        guard created else {
            throw CredentialError(
                code: .unreadableFile, message: "cannot write the refreshed SSO token to \(temporary.path)")
        }
        guard rename(temporary.path, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw CredentialError(
                code: .unreadableFile, message: "cannot replace the SSO token cache \(path): \(reason)")
        }
    }

    /// A time as the AWS CLI writes it in the cache: UTC, to the second.
    static func timestamp(_ date: Date) -> String { Date.ISO8601FormatStyle().format(date) }
}
