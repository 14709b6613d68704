import FanoutHTTP
import Foundation

/// Tokens for a gcloud user (`gcloud auth application-default login`): the refresh-token grant at the file's
/// `token_uri`, else Google's token endpoint.
struct AuthorizedUserCredentialProvider: GoogleCredentialProvider {
    struct User: Decodable, Sendable {
        var client_id: String
        var client_secret: String
        var refresh_token: String
        var token_uri: String?
    }

    let user: User
    let http: HTTPClient
    var now: @Sendable () -> Date = { Date() }

    func fetchToken() async throws -> GoogleAccessToken {
        try await GoogleTokenEndpoint.request(
            user.token_uri ?? ServiceAccountKey.defaultTokenURI,
            form: [
                ("grant_type", "refresh_token"), ("client_id", user.client_id),
                ("client_secret", user.client_secret), ("refresh_token", user.refresh_token),
            ],
            http: http, who: "the gcloud user's refresh token (run `gcloud auth application-default login` "
                + "again if it was revoked)", now: now)
    }
}
