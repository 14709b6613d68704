import FanoutHTTP
import FanoutSigV4
import Foundation
import Logging

/// One round of requests to the instance metadata service: token, role name, credentials.
struct InstanceMetadataFetch {
    let configuration: InstanceMetadataCredentialProvider.Configuration
    let httpClient: HTTPClient
    let logger: Logger

    static let credentialsPath = "latest/meta-data/iam/security-credentials/"

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    func roleCredentials() async throws -> AWSCredentials {
        let token = try await sessionToken()
        let role = try await get(Self.credentialsPath, token: token).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !role.isEmpty, !role.contains("\n") else { throw Failure(description: "no role name: '\(role)'") }
        let body = try await get(Self.credentialsPath + role, token: token)
        return try MetadataCredentials.parse(
            Data(body.utf8), source: "the instance metadata service at \(configuration.endpoint.absoluteString)")
    }

    /// The IMDSv2 token, or `nil` when the service does not issue tokens (IMDSv1).
    private func sessionToken() async throws -> String? {
        let request = HTTPRequest(
            method: .put, url: url("latest/api/token"),
            headers: ["X-aws-ec2-metadata-token-ttl-seconds": "\(configuration.tokenTTL)"])
        let (status, body) = try await send(request)
        switch status {
        case 200: return body
        case 403, 404, 405: return nil
        default: throw Failure(description: "the token request answered HTTP \(status)")
        }
    }

    private func get(_ path: String, token: String?) async throws -> String {
        var headers: HTTPHeaders = [:]
        if let token { headers.add(name: "X-aws-ec2-metadata-token", value: token) }
        let (status, body) = try await send(HTTPRequest(url: url(path), headers: headers))
        guard status == 200, !body.isEmpty else {
            throw Failure(description: "GET \(path) answered HTTP \(status)")
        }
        return body
    }

    /// Sends with ``InstanceMetadataCredentialProvider/Configuration/attempts`` attempts of
    /// ``InstanceMetadataCredentialProvider/Configuration/timeout`` each; a non-200 answer ends the attempts.
    private func send(_ request: HTTPRequest) async throws -> (status: Int, body: String) {
        var lastError: (any Error)?
        for attempt in 1...configuration.attempts {
            do {
                let response = try await httpClient.executeOnce(
                    request, timeout: configuration.timeout, attempt: attempt)
                let body = try await response.body.collect(upTo: 1 << 20)
                return (response.status, String(decoding: body, as: UTF8.self))
            } catch let error as HTTPClientError where error.code == .cancelled {
                throw CancellationError()
            } catch {
                try Task.checkCancellation()
                lastError = error
            }
        }
        throw lastError ?? Failure(description: "no attempt was made")
    }

    private func url(_ path: String) -> URL {
        let base = configuration.endpoint.absoluteString
        return URL(string: base.hasSuffix("/") ? base + path : base + "/" + path)!
    }
}
