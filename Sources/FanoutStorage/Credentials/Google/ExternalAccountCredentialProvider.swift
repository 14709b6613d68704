import FanoutHTTP
import Foundation

/// Tokens for an external account (workload identity federation): a token of another identity provider (from a
/// file or a URL) exchanged at Google's STS (`token-exchange` grant), then, when the file says so, traded for a
/// service account's token (`generateAccessToken` at `service_account_impersonation_url`).
struct ExternalAccountCredentialProvider: GoogleCredentialProvider {
    struct Configuration: Decodable, Sendable {
        struct Source: Decodable, Sendable {
            struct Format: Decodable, Sendable {
                var type: String?
                var subject_token_field_name: String?
            }

            var file: String?
            var url: String?
            var headers: [String: String]?
            var format: Format?
        }

        var audience: String
        var subject_token_type: String
        var token_url: String?
        var credential_source: Source
        var service_account_impersonation_url: String?
    }

    private struct Impersonated: Decodable {
        var accessToken: String
        var expireTime: String
    }

    static let defaultTokenURL = "https://sts.googleapis.com/v1/token"

    let configuration: Configuration
    let http: HTTPClient
    var now: @Sendable () -> Date = { Date() }

    func fetchToken() async throws -> GoogleAccessToken {
        let subject = try await subjectToken()
        let endpoint = configuration.token_url ?? Self.defaultTokenURL
        let federated = try await GoogleTokenEndpoint.request(
            endpoint,
            form: [
                ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
                ("audience", configuration.audience),
                ("scope", "https://www.googleapis.com/auth/cloud-platform"),
                ("requested_token_type", "urn:ietf:params:oauth:token-type:access_token"),
                ("subject_token", subject),
                ("subject_token_type", configuration.subject_token_type),
            ],
            http: http, who: "the external account of audience \(configuration.audience)", now: now)
        guard let impersonation = configuration.service_account_impersonation_url else { return federated }
        return try await impersonate(impersonation, token: federated.token)
    }

    /// The other provider's token: a file's contents, or a URL's answer; the named field of a JSON document when
    /// the format says `json`.
    private func subjectToken() async throws -> String {
        let source = configuration.credential_source
        let data: Data
        if let file = source.file {
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: file))
            } catch {
                throw CredentialError(
                    code: .unreadableFile,
                    message: "cannot read the external account's subject token file \(file): check that the "
                        + "identity provider's token is mounted there", underlyingError: error)
            }
        } else if let text = source.url, let url = URL(string: text) {
            let request = HTTPRequest(method: .get, url: url, headers: HTTPHeaders((source.headers ?? [:]).map { ($0, $1) }))
            let response = try await http.credentialRequest(
                request, timeout: .seconds(10), logger: HTTPClient.noLogger, failure: .metadataRequestFailed,
                unreachable: "cannot reach the external account's subject token URL \(text)")
            guard response.isSuccess else {
                throw CredentialError(
                    code: .metadataRequestFailed,
                    message: "the external account's subject token URL \(text) answered \(response.status)")
            }
            data = response.body
        } else {
            throw CredentialError(
                code: .unsupportedConfiguration,
                message: "the external account's credential_source has neither a file nor a url; Fanout reads "
                    + "those two (not executables or AWS sources)")
        }
        guard source.format?.type == "json" else {
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let field = source.format?.subject_token_field_name ?? "access_token"
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let token = object[field] as? String
        else {
            throw CredentialError(
                code: .invalidMetadataResponse,
                message: "the external account's subject token is not a JSON object with the field '\(field)'")
        }
        return token
    }

    /// A service account's token, from `generateAccessToken` called with the federated token.
    private func impersonate(_ endpoint: String, token: String) async throws -> GoogleAccessToken {
        guard let url = URL(string: endpoint) else {
            throw CredentialError(
                code: .invalidEndpoint, message: "service_account_impersonation_url '\(endpoint)' is not a URL")
        }
        let body = try JSONSerialization.data(withJSONObject: [
            "scope": ["https://www.googleapis.com/auth/cloud-platform"], "lifetime": "3600s",
        ])
        let request = HTTPRequest(
            method: .post, url: url,
            headers: ["Content-Type": "application/json", "Authorization": "Bearer \(token)"], body: .bytes(body))
        let response = try await http.credentialRequest(
            request, timeout: .seconds(30), logger: HTTPClient.noLogger, failure: .stsRequestFailed,
            unreachable: "cannot reach \(endpoint) to impersonate the service account")
        guard response.isSuccess else {
            throw CredentialError(
                code: .stsRejected,
                message: "impersonating the service account at \(endpoint) was refused (\(response.status)): grant "
                    + "the external identity roles/iam.workloadIdentityUser on it. "
                    + String(decoding: response.body.prefix(300), as: UTF8.self))
        }
        let answer = try response.credentialAnswer(
            Impersonated.self, otherwise: "generateAccessToken answered without a token")
        return GoogleAccessToken(token: answer.accessToken, expiration: GCSObjectResource.parseDate(answer.expireTime))
    }
}
