public import Foundation
import FanoutHTTP

/// The IAM Credentials API's `signBlob`: bytes signed with a Google-managed key of a service account, for
/// credentials that hold no key (the metadata server's).
public struct IAMCredentialsSignBlob: Sendable {
    public static let defaultEndpoint = URL(string: "https://iamcredentials.googleapis.com")!

    let endpoint: URL
    let http: HTTPClient

    private struct Answer: Decodable {
        var signedBlob: String
    }

    /// `data` signed as `email`, authorized by `token`.
    /// - Throws: ``CredentialError`` when the API cannot be reached or refuses (most often: the account lacks
    ///   `roles/iam.serviceAccountTokenCreator` on itself).
    func sign(_ data: Data, as email: String, token: String) async throws -> Data {
        var base = endpoint.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        let name = email.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? email
        let url = URL(string: base + "/v1/projects/-/serviceAccounts/\(name):signBlob")!
        let body = try JSONSerialization.data(withJSONObject: ["payload": data.base64EncodedString()])
        let request = HTTPRequest(
            method: .post, url: url,
            headers: ["Content-Type": "application/json", "Authorization": "Bearer \(token)"], body: .bytes(body))
        let response = try await http.credentialRequest(
            request, timeout: .seconds(30), logger: HTTPClient.noLogger, failure: .stsRequestFailed,
            unreachable: "cannot reach the IAM Credentials API at \(base) to sign as \(email)")
        guard response.isSuccess else {
            throw CredentialError(
                code: .stsRejected,
                message: "the IAM Credentials API refused to sign as \(email) (\(response.status)): grant it "
                    + "roles/iam.serviceAccountTokenCreator on itself, or sign with a key "
                    + "(GOOGLE_APPLICATION_CREDENTIALS). " + String(decoding: response.body.prefix(300), as: UTF8.self))
        }
        let answer = try response.credentialAnswer(Answer.self, otherwise: "signBlob answered without a signature")
        guard let signature = Data(base64Encoded: answer.signedBlob) else {
            throw CredentialError(code: .invalidSTSResponse, message: "signBlob's signature is not base64")
        }
        return signature
    }
}
