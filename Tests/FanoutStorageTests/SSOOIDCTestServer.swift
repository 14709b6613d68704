import FanoutHTTP
import FanoutTestSupport
import Foundation
import Testing

/// `scripts/test-servers/sso_oidc.py`: SSO-OIDC's `CreateToken` for refresh grants, each test under a case name of
/// its own.
struct SSOOIDCTestServer {
    /// A `CreateToken` request the server received.
    struct Recorded: Decodable, Equatable {
        let method: String
        let path: String
        let contentType: String?
        /// Whether an `Authorization` header came; the call must be unsigned.
        let signed: Bool
        let body: [String: String]?
    }

    /// What the case accepts and hands out.
    struct Grant: Encodable {
        var clientID = "client-id"
        var clientSecret = "client-secret"
        var refreshToken = "refresh-1"
        var accessToken = "refreshed-access-token"
        var expiresIn = 3600
        var newRefreshToken = "refresh-2"

        enum CodingKeys: String, CodingKey {
            case clientID = "client_id", clientSecret = "client_secret", refreshToken = "refresh_token"
            case accessToken = "access_token", expiresIn = "expires_in", newRefreshToken = "new_refresh_token"
        }
    }

    let base: URL
    let name: String
    private let client = HTTPClient(configuration: .init(retry: .never))

    /// A case with a fresh name.
    init() throws {
        base = try TestEnvironment.ssoOIDC
        name = "case-\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// The case's endpoint, as `AWS_ENDPOINT_URL_SSO_OIDC`.
    var endpoint: URL { base.appendingPathComponent("oidc/\(name)") }

    /// Sets the registration and refresh token the case accepts, and the token it answers.
    func configure(_ grant: Grant) async throws {
        let request = HTTPRequest(
            method: .post, url: base.appendingPathComponent("__test/oidc/\(name)"),
            headers: ["Content-Type": "application/json"], body: .bytes(try JSONEncoder().encode(grant)))
        let response = try await client.send(request, timeout: .seconds(10))
        try #require(response.status == 204)
    }

    /// The requests of this case, oldest first.
    func requests() async throws -> [Recorded] {
        let response = try await client.send(
            HTTPRequest(url: base.appendingPathComponent("__test/requests/\(name)")), timeout: .seconds(10))
        try #require(response.status == 200)
        return try JSONDecoder().decode([Recorded].self, from: response.body)
    }
}
