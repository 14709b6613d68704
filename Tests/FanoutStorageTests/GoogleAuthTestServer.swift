import FanoutHTTP
import FanoutTestSupport
import Foundation
import Testing

/// `scripts/test-servers/google_auth.py`: Google's token endpoint and metadata server, and the authenticating proxy in
/// front of the emulator; each test under a case name of its own.
struct GoogleAuthTestServer {
    /// A request the server received: the headers a client must send, and the form of a token request.
    struct Recorded: Decodable {
        let method: String
        let path: String
        let headers: [String: String]
        let form: [String: String]
    }

    let base: URL
    let name: String
    private let client = HTTPClient(configuration: .init(retry: .never))

    /// A case with a fresh name.
    init() throws {
        base = try TestEnvironment.googleAuth
        name = "case-\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// `host:port`, as `GCE_METADATA_HOST`.
    var metadataHost: String { "\(base.host ?? "127.0.0.1"):\(base.port ?? 80)" }

    /// A new service-account key file whose `token_uri` is this case's token endpoint; tokens last `expiresIn`.
    func serviceAccountKey(expiresIn: Int = 3600) async throws -> Data {
        try await make("service-account", expiresIn: expiresIn)
    }

    /// A gcloud user's `application_default_credentials.json` for this case; tokens last `expiresIn`.
    func authorizedUser(expiresIn: Int = 3600) async throws -> Data {
        try await make("authorized-user", expiresIn: expiresIn)
    }

    /// An external_account file for this case (its subject token from a URL here), and the subject token it gives.
    func externalAccount(impersonate: Bool) async throws -> (file: [String: Any], subject: String) {
        let request = HTTPRequest(
            method: .post, url: base.appendingPathComponent("__test/external-account/\(name)"),
            headers: ["Content-Type": "application/json"], body: .bytes("{\"impersonate\": \(impersonate)}"))
        let response = try await client.send(request, timeout: .seconds(30))
        try #require(response.status == 200)
        let answer = try #require(try JSONSerialization.jsonObject(with: response.body) as? [String: Any])
        return (try #require(answer["file"] as? [String: Any]), try #require(answer["subject_token"] as? String))
    }

    /// The metadata server's service-account key, as a key file: what `signBlob` signs with.
    func metadataKey() async throws -> Data {
        let response = try await client.send(
            HTTPRequest(url: base.appendingPathComponent("__test/metadata-key")), timeout: .seconds(10))
        try #require(response.status == 200)
        return response.body
    }

    /// The requests of a case (this one, or `metadata` for the metadata server), oldest first.
    func requests(of caseName: String? = nil) async throws -> [Recorded] {
        let response = try await client.send(
            HTTPRequest(url: base.appendingPathComponent("__test/requests/\(caseName ?? name)")), timeout: .seconds(10))
        try #require(response.status == 200)
        return try JSONDecoder().decode([Recorded].self, from: response.body)
    }

    private func make(_ kind: String, expiresIn: Int) async throws -> Data {
        let request = HTTPRequest(
            method: .post, url: base.appendingPathComponent("__test/\(kind)/\(name)"),
            headers: ["Content-Type": "application/json"], body: .bytes("{\"expires_in\": \(expiresIn)}"))
        let response = try await client.send(request, timeout: .seconds(30))
        try #require(response.status == 200)
        return response.body
    }
}
