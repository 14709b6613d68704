import FanoutHTTP
import FanoutSigV4
import Foundation
import Logging

/// One STS `AssumeRole` request, signed with the source credentials.
struct AssumeRoleCall {
    let roleARN: String
    let sessionName: String
    let externalID: String?
    let durationSeconds: Int?
    let endpoint: URL
    /// The signing region. Default `us-east-1`.
    let region: String?

    func form() -> String {
        var fields = [
            ("Action", "AssumeRole"), ("Version", "2011-06-15"), ("RoleArn", roleARN), ("RoleSessionName", sessionName),
        ]
        if let externalID { fields.append(("ExternalId", externalID)) }
        if let durationSeconds { fields.append(("DurationSeconds", "\(durationSeconds)")) }
        var allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        allowed.insert(charactersIn: "-._~")
        return fields.map { "\($0)=\($1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $1)" }
            .joined(separator: "&")
    }

    func send(signedWith source: AWSCredentials, httpClient: HTTPClient, timeout: Duration, logger: Logger)
        async throws -> AWSCredentials
    {
        let body = Data(form().utf8)
        let request = HTTPRequest(method: .post, url: endpoint, body: .bytes(body))
        let signer = SigV4Signer(credentials: source, region: region ?? "us-east-1", service: "sts")
        let response: HTTPFullResponse
        do {
            // Each attempt is signed afresh, so a retry after a long wait is not refused as stale.
            response = try await httpClient.withRetries(request, timeout: timeout, logger: logger) {
                attempt, remaining in
                let signed = try signer.signHeaders(
                    method: "POST", url: endpoint,
                    headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
                    payloadHash: SigV4.sha256Hex(body), date: Date())
                var attemptRequest = request
                attemptRequest.headers = HTTPHeaders(signed.map { ($0.name, $0.value) })
                let answer = try await httpClient.executeOnce(attemptRequest, timeout: remaining, attempt: attempt)
                let data = try await answer.body.collect(upTo: 1 << 20)
                let full = HTTPFullResponse(
                    status: answer.status, headers: answer.headers, body: data, attempts: attempt)
                return answer.status >= 500 || answer.status == 429
                    ? .retryableAnswer(full, status: answer.status, retryAfter: nil) : .success(full)
            }
        } catch {
            throw CredentialError(
                code: .stsRequestFailed,
                message: "cannot reach STS at \(endpoint.absoluteString) to assume role \(roleARN): check the "
                    + "network, or set AWS_ENDPOINT_URL_STS or AWS_REGION",
                underlyingError: error)
        }
        return try WebIdentityCredentialProvider.parseResponse(
            status: response.status, body: response.bodyText, roleARN: roleARN, endpoint: endpoint,
            webIdentity: false)
    }
}
