import FanoutHTTP
import Foundation

/// An OAuth 2.0 token endpoint: a form `POST` answered with `{"access_token", "expires_in"}`.
enum GoogleTokenEndpoint {
    /// - Parameter who: Whose token this is, for errors.
    /// - Throws: ``CredentialError`` when the endpoint cannot be reached, refuses, or answers otherwise.
    static func request(
        _ endpoint: String, form: [(String, String)], http: HTTPClient, who: String, now: @Sendable () -> Date
    ) async throws -> GoogleAccessToken {
        guard let url = URL(string: endpoint), url.scheme == "https" || url.scheme == "http" else {
            throw CredentialError(
                code: .invalidEndpoint, message: "the token_uri '\(endpoint)' for \(who) is not an http(s) URL")
        }
        let body = form.map { "\($0)=\(formEncode($1))" }.joined(separator: "&")
        let request = HTTPRequest(
            method: .post, url: url, headers: ["Content-Type": "application/x-www-form-urlencoded"],
            body: .bytes(body))
        let response = try await http.credentialRequest(
            request, timeout: .seconds(30), logger: HTTPClient.noLogger, failure: .stsRequestFailed,
            unreachable: "cannot reach the token endpoint \(endpoint) for \(who): check the network")
        guard response.isSuccess else {
            throw CredentialError(
                code: .stsRejected,
                message: "the token endpoint \(endpoint) refused \(who) (\(response.status)): "
                    + String(decoding: response.body.prefix(300), as: UTF8.self))
        }
        return try response.credentialAnswer(
            GoogleAccessToken.Answer.self, otherwise: "the token endpoint \(endpoint) answered without a token"
        ).token(receivedAt: now())
    }

    /// `application/x-www-form-urlencoded` encoding of a value.
    static func formEncode(_ text: String) -> String {
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
