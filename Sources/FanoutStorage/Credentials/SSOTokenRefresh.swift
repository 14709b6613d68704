import FanoutHTTP
import Foundation
import Logging

/// SSO-OIDC `CreateToken` with the `refresh_token` grant: a new access token for a cached one that is about to
/// expire, as the AWS CLI refreshes `sso_session` tokens.
///
/// The request is unsigned JSON, `POST /token` on `AWS_ENDPOINT_URL_SSO_OIDC` (or the profile's `sso_oidc`
/// endpoint), else `https://oidc.REGION.amazonaws.com`.
struct SSOTokenRefresh: Sendable {
    let endpoint: URL
    let httpClient: HTTPClient
    let timeout: Duration
    let logger: Logger

    /// The refreshed token: `token` with a new access token, expiry and (when SSO-OIDC sends one) refresh token.
    ///
    /// - Throws: ``CredentialError/Code/stsRequestFailed`` when SSO-OIDC cannot be reached,
    ///   ``CredentialError/Code/stsRejected`` when it refuses the grant, ``CredentialError/Code/invalidSTSResponse``
    ///   when it answers without a token.
    func refresh(
        _ token: SSOCachedToken, grant: (clientID: String, clientSecret: String, refreshToken: String), now: Date
    ) async throws -> SSOCachedToken {
        struct Body: Encodable {
            let clientId: String
            let clientSecret: String
            let grantType = "refresh_token"
            let refreshToken: String
        }
        guard let url = SSOCredentialProvider.url(endpoint, appending: "/token") else {
            throw CredentialError(code: .invalidEndpoint, message: "cannot build the SSO-OIDC URL from \(endpoint)")
        }
        let body = try JSONEncoder().encode(
            Body(clientId: grant.clientID, clientSecret: grant.clientSecret, refreshToken: grant.refreshToken))
        let request = HTTPRequest(
            method: .post, url: url, headers: ["Content-Type": "application/json", "Accept": "application/json"],
            body: .bytes(body))
        logger.debug("refreshing the SSO token", metadata: ["endpoint": "\(endpoint.absoluteString)"])
        let response = try await httpClient.credentialRequest(
            request, timeout: timeout, logger: logger, failure: .stsRequestFailed,
            unreachable: "cannot reach SSO-OIDC at \(endpoint.absoluteString): check the network or "
                + "AWS_ENDPOINT_URL_SSO_OIDC")
        guard response.status == 200 else {
            throw CredentialError(
                code: .stsRejected,
                message: "SSO-OIDC refused to refresh the token (HTTP \(response.status), "
                    + "\(response.bodyText.prefix(200)))")
        }
        struct Answer: Decodable {
            let accessToken: String
            let expiresIn: Int
            let refreshToken: String?
        }
        let answer = try response.credentialAnswer(Answer.self, otherwise: "SSO-OIDC answered without an access token")
        var refreshed = token
        refreshed.accessToken = answer.accessToken
        refreshed.expiresAt = SSOTokenCache.timestamp(now.addingTimeInterval(TimeInterval(answer.expiresIn)))
        refreshed.refreshToken = answer.refreshToken ?? token.refreshToken
        return refreshed
    }
}
