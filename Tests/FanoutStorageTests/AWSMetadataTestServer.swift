import FanoutHTTP
import FanoutTestSupport
import Foundation
import Testing

/// `scripts/test-servers/aws_metadata.py`: the container credentials endpoint and IMDSv2, each test under a case
/// name of its own.
struct AWSMetadataTestServer {
    /// A request the server received, with the headers a client must send.
    struct Recorded: Decodable, Equatable {
        let method: String
        let path: String
        let headers: [String: String]
    }

    let base: URL
    let name: String
    private let client = HTTPClient(configuration: .init(retry: .never))

    /// A case with a fresh name.
    init() throws {
        base = try TestEnvironment.awsMetadata
        name = "case-\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// The case's container credentials URL.
    var containerURL: URL { base.appendingPathComponent("container/\(name)") }

    /// The case's IMDS endpoint, as `AWS_EC2_METADATA_SERVICE_ENDPOINT`.
    var imdsEndpoint: URL { base.appendingPathComponent("imds/\(name)/") }

    /// The case's IAM Identity Center portal, as `AWS_ENDPOINT_URL_SSO`.
    var ssoEndpoint: URL { base.appendingPathComponent("sso/\(name)") }

    /// Requires `token` as the portal's bearer token.
    func configureSSO(token: String) async throws {
        try await configure("sso", ["token": .string(token)])
    }

    /// Requires `token` as the container endpoint's `Authorization`; credentials last `expiresIn` seconds.
    func configureContainer(token: String?, expiresIn: Int = 3600) async throws {
        let token: Value = token.map { .string($0) } ?? .null
        try await configure("container", ["token": token, "expires_in": .number(expiresIn)])
    }

    /// Names the instance's role; its credentials last `expiresIn` seconds.
    func configureInstance(role: String, expiresIn: Int = 3600) async throws {
        try await configure("imds", ["role": .string(role), "expires_in": .number(expiresIn)])
    }

    /// The requests of this case, oldest first.
    func requests() async throws -> [Recorded] {
        let response = try await client.send(
            HTTPRequest(url: base.appendingPathComponent("__test/requests/\(name)")), timeout: .seconds(10))
        try #require(response.status == 200)
        return try JSONDecoder().decode([Recorded].self, from: response.body)
    }

    private enum Value: Encodable {
        case string(String), number(Int), null

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .string(let text): try container.encode(text)
            case .number(let number): try container.encode(number)
            case .null: try container.encodeNil()
            }
        }
    }

    private func configure(_ kind: String, _ settings: [String: Value]) async throws {
        let request = HTTPRequest(
            method: .post, url: base.appendingPathComponent("__test/\(kind)/\(name)"),
            headers: ["Content-Type": "application/json"], body: .bytes(try JSONEncoder().encode(settings)))
        let response = try await client.send(request, timeout: .seconds(10))
        try #require(response.status == 204)
    }
}
