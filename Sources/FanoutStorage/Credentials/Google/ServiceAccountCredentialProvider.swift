import FanoutHTTP
import Foundation
import Logging

/// Tokens for a service-account key: a JWT signed with the key, exchanged at the key's `token_uri` (the
/// `urn:ietf:params:oauth:grant-type:jwt-bearer` grant).
struct ServiceAccountCredentialProvider: GoogleCredentialProvider {
    let key: ServiceAccountKey
    let http: HTTPClient
    var now: @Sendable () -> Date = { Date() }

    func fetchToken() async throws -> GoogleAccessToken {
        let assertion: String
        do {
            assertion = try key.assertion(now: now())
        } catch {
            throw CredentialError(
                code: .invalidConfigFile,
                message: "the private key of service account \(key.client_email) cannot sign: download the key "
                    + "again", underlyingError: error)
        }
        return try await GoogleTokenEndpoint.request(
            key.tokenURI,
            form: [("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion)],
            http: http, who: "service account \(key.client_email)", now: now)
    }

    func signer() async throws -> GoogleSigner? {
        let key = self.key
        return GoogleSigner(email: key.client_email) { try key.sign($0) }
    }
}
