import FanoutHTTP
import FanoutStorage
import FanoutTestSupport
import Foundation
import Testing

@Suite("Application Default Credentials")
struct ApplicationDefaultCredentialsTests {
    /// A GCS client through the authenticating proxy with `credentials`.
    private func client(_ credentials: GoogleCredentials) throws -> GCSClient {
        try makeGCSClient(endpoint: TestEnvironment.googleAuth) { $0.credentials = .google(credentials) }
    }

    /// Runs `body` with an empty home folder, so no gcloud file of the machine's is found.
    private func withHome<T>(_ body: (URL) async throws -> T) async throws -> T {
        try await withTemporaryDirectory { home in try await body(home) }
    }

    @Test("a service-account key: a JWT google-auth verifies, exchanged at its token_uri, the token cached")
    func serviceAccount() async throws {
        let server = try GoogleAuthTestServer()
        try await withHome { home in
            let keyFile = home.appendingPathComponent("key.json")
            try await server.serviceAccountKey().write(to: keyFile)
            let credentials = GoogleCredentials.applicationDefault(environment: [
                "GOOGLE_APPLICATION_CREDENTIALS": keyFile.path, "HOME": home.path,
            ])
            let client = try client(credentials)
            try await withTemporaryGCSBucket { bucket in
                let store = client.store(bucket: bucket)
                try await store.put(key: "a.txt", data: Data("hello".utf8))
                #expect(try await store.get(key: "a.txt") == Data("hello".utf8))
                #expect(try await store.list(prefix: "").collect().map(\.key) == ["a.txt"])
            }
            #expect(await credentials.fetchCount == 1)
            let requests = try await server.requests()
            #expect(requests.count == 1)
            #expect(requests.first?.form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer")
            #expect(requests.first?.headers["content-type"] == "application/x-www-form-urlencoded")
        }
    }

    @Test("gcloud's application_default_credentials.json: the refresh-token grant with its client")
    func authorizedUser() async throws {
        let server = try GoogleAuthTestServer()
        try await withHome { home in
            let gcloud = home.appendingPathComponent("gcloud-config")
            try FileManager.default.createDirectory(at: gcloud, withIntermediateDirectories: true)
            let file = try await server.authorizedUser()
            try file.write(to: gcloud.appendingPathComponent("application_default_credentials.json"))
            let credentials = GoogleCredentials.applicationDefault(environment: [
                "CLOUDSDK_CONFIG": gcloud.path, "HOME": home.path,
            ])
            let token = try await credentials.accessToken()
            #expect(token.hasPrefix("ya29.\(server.name)."))
            let form = try #require(try await server.requests().first?.form)
            let user = try JSONDecoder().decode([String: String].self, from: file)
            #expect(form["grant_type"] == "refresh_token")
            #expect(form["refresh_token"] == user["refresh_token"])
            #expect(form["client_id"] == user["client_id"])
            #expect(form["client_secret"] == user["client_secret"])
        }
    }

    @Test("the metadata server at GCE_METADATA_HOST, asked with Metadata-Flavor: Google")
    func metadataServer() async throws {
        let server = try GoogleAuthTestServer()
        try await withHome { home in
            let before = try await server.requests(of: "metadata").count
            let credentials = GoogleCredentials.applicationDefault(environment: [
                "GCE_METADATA_HOST": server.metadataHost, "HOME": home.path,
            ])
            let token = try await credentials.accessToken()
            #expect(token.hasPrefix("ya29.metadata."))
            let requests = try await server.requests(of: "metadata")
            #expect(requests.count > before)
            let last = try #require(requests.last)
            #expect(last.path == "/computeMetadata/v1/instance/service-accounts/default/token")
            #expect(last.headers["metadata-flavor"] == "Google")
        }
    }

    @Test("a token about to expire is fetched again; a fresh one is reused", arguments: [(60, 3), (3600, 1)])
    func refresh(expiresIn: Int, fetches: Int) async throws {
        let server = try GoogleAuthTestServer()
        try await withHome { home in
            let keyFile = home.appendingPathComponent("key.json")
            try await server.serviceAccountKey(expiresIn: expiresIn).write(to: keyFile)
            let credentials = GoogleCredentials.applicationDefault(environment: [
                "GOOGLE_APPLICATION_CREDENTIALS": keyFile.path, "HOME": home.path,
            ])
            var tokens: Set<String> = []
            for _ in 0..<3 { tokens.insert(try await credentials.accessToken()) }
            #expect(await credentials.fetchCount == fetches)
            #expect(tokens.count == fetches)
        }
    }

    @Test("nothing configured and no metadata server: an error that says what to set")
    func noCredentials() async throws {
        try await withHome { home in
            let credentials = GoogleCredentials(provider: ApplicationDefaultCredentials(
                environment: ["GCE_METADATA_HOST": "127.0.0.1:9", "HOME": home.path],
                httpClient: HTTPClient(configuration: .init(retry: .never))))
            let error = await #expect(throws: CredentialError.self) { _ = try await credentials.accessToken() }
            #expect(error?.message.contains("gcloud auth application-default login") == true)
            #expect(error?.message.contains("GOOGLE_APPLICATION_CREDENTIALS") == true)
        }
    }

    @Test("a key file of a type not supported is named in the error")
    func unsupportedKeyFile() async throws {
        try await withHome { home in
            let file = home.appendingPathComponent("external.json")
            try Data(#"{"type": "impersonated_service_account"}"#.utf8).write(to: file)
            let credentials = GoogleCredentials.applicationDefault(environment: [
                "GOOGLE_APPLICATION_CREDENTIALS": file.path, "HOME": home.path,
            ])
            let error = await #expect(throws: CredentialError.self) { _ = try await credentials.accessToken() }
            #expect(error?.code == .unsupportedConfiguration)
            #expect(error?.message.contains("impersonated_service_account") == true)
            #expect(error?.message.contains(file.path) == true)
        }
    }

    @Test("an external account: the subject token (from its URL, or a file) exchanged at STS, then impersonation",
        arguments: [(false, false), (true, false), (false, true)])
    func externalAccount(impersonate: Bool, fromFile: Bool) async throws {
        let server = try GoogleAuthTestServer()
        try await withHome { home in
            var (file, subject) = try await server.externalAccount(impersonate: impersonate)
            if fromFile {
                let tokenFile = home.appendingPathComponent("subject-token")
                try Data(subject.utf8).write(to: tokenFile)
                file["credential_source"] = ["file": tokenFile.path]
            }
            let path = home.appendingPathComponent("external.json")
            try JSONSerialization.data(withJSONObject: file).write(to: path)
            let credentials = GoogleCredentials.applicationDefault(environment: [
                "GOOGLE_APPLICATION_CREDENTIALS": path.path, "HOME": home.path,
            ])
            let token = try await credentials.accessToken()
            #expect(token.hasPrefix(impersonate ? "ya29.\(server.name)-sa." : "ya29.\(server.name)."))
            try await withTemporaryGCSBucket { bucket in
                let store = try client(credentials).store(bucket: bucket)
                try await store.put(key: "x", data: Data("1".utf8))
                #expect(try await store.list(prefix: "").collect().map(\.key) == ["x"])
            }
            let requests = try await server.requests()
            let exchange = try #require(requests.first { $0.path.hasPrefix("/sts/") })
            #expect(exchange.form["subject_token"] == subject)
            #expect(exchange.form["grant_type"] == "urn:ietf:params:oauth:grant-type:token-exchange")
            #expect(requests.contains { $0.path.hasPrefix("/subject/") } == !fromFile)
            #expect(requests.contains { $0.path.hasPrefix("/impersonate/") } == impersonate)
        }
    }

    /// A token the proxy never issued.
    private struct FixedToken: GoogleCredentialProvider {
        func fetchToken() async throws -> GoogleAccessToken {
            GoogleAccessToken(token: "ya29.not-issued", expiration: nil)
        }
    }

    @Test("rejected credentials get 401 as invalidCredentials, with a hint")
    func rejected() async throws {
        let client = try client(GoogleCredentials(provider: FixedToken()))
        try await withTemporaryGCSBucket { bucket in
            let error = await #expect(throws: ObjectStoreError.self) {
                _ = try await client.store(bucket: bucket).list(prefix: "").collect()
            }
            #expect(error?.code == .invalidCredentials)
            #expect(error?.status == 401)
            #expect(error?.hint?.contains("gcloud auth application-default login") == true)
        }
    }

    @Test("a bucket the account may not read gets 403 as accessDenied, with the role to grant")
    func forbidden() async throws {
        let server = try GoogleAuthTestServer()
        try await withHome { home in
            let keyFile = home.appendingPathComponent("key.json")
            try await server.serviceAccountKey().write(to: keyFile)
            let client = try client(.applicationDefault(environment: [
                "GOOGLE_APPLICATION_CREDENTIALS": keyFile.path, "HOME": home.path,
            ]))
            let error = await #expect(throws: ObjectStoreError.self) {
                _ = try await client.store(bucket: "forbidden-data").get(key: "a.txt")
            }
            #expect(error?.code == .accessDenied)
            #expect(error?.status == 403)
            #expect(error?.description.contains("gs://forbidden-data/a.txt") == true)
            #expect(error?.hint?.contains("roles/storage.objectViewer") == true)
        }
    }
}
