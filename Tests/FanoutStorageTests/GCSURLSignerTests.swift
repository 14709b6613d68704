import FanoutHTTP
@testable import FanoutStorage
import FanoutTestSupport
import Foundation
import Testing

@Suite("GCSURLSigner: V4 signed URLs")
struct GCSURLSignerTests {
    /// google-cloud-storage's `generate_signed_url(version="v4")` with its clock fixed at `timestamp` (Unix seconds).
    private static let script = """
        import datetime, sys
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage
        from google.cloud.storage import _signing
        from google.oauth2 import service_account
        key, bucket, name, method, seconds, endpoint, timestamp = sys.argv[1:8]
        fixed = datetime.datetime.fromtimestamp(int(timestamp), datetime.timezone.utc).replace(tzinfo=None)
        _signing._NOW = lambda tz=None: fixed.replace(tzinfo=tz)
        credentials = service_account.Credentials.from_service_account_file(key)
        client = storage.Client(project="test", credentials=AnonymousCredentials())
        blob = client.bucket(bucket).blob(name)
        print(blob.generate_signed_url(version="v4", expiration=datetime.timedelta(seconds=int(seconds)),
                                       method=method, credentials=credentials, api_access_endpoint=endpoint))
        """

    @Test("byte for byte as google-cloud-storage signs, at a fixed time", arguments: [
        ("data/report 2026.csv", PresignMethod.get, 3600, "https://storage.googleapis.com"),
        ("a+b/ü~x?y#z", PresignMethod.put, 600, "https://storage.googleapis.com"),
        ("plain", PresignMethod.get, 604_800, "http://127.0.0.1:4443"),
    ])
    func matchesGoogleClient(key: String, method: PresignMethod, seconds: Int, endpoint: String) async throws {
        let server = try GoogleAuthTestServer()
        try await withTemporaryDirectory { folder in
            let keyFile = folder.appendingPathComponent("key.json")
            try await server.serviceAccountKey().write(to: keyFile)
            let client = GCSClient(configuration: GCSConfiguration(
                endpoint: try #require(URL(string: endpoint)),
                credentials: .google(.applicationDefault(environment: ["GOOGLE_APPLICATION_CREDENTIALS": keyFile.path]))))
            let date = Date(timeIntervalSince1970: 1_772_600_767)
            let url = try await client.signedURL(
                bucket: "fanout-bucket", key: key, method: method, expires: .seconds(seconds), date: date)
            let reference = try await BotocoreCredentialOracle.run(
                script: Self.script,
                arguments: [keyFile.path, "fanout-bucket", key, method.rawValue, String(seconds), endpoint, "1772600767"])
            #expect(reference.contains("X-Goog-Signature="))
            #expect(url.absoluteString == reference)
        }
    }

    @Test("metadata credentials sign through signBlob as their service account, byte for byte as its key would")
    func signBlob() async throws {
        let server = try GoogleAuthTestServer()
        try await withTemporaryDirectory { folder in
            let credentials = GoogleCredentials(
                provider: ApplicationDefaultCredentials(
                    environment: ["GCE_METADATA_HOST": server.metadataHost, "HOME": folder.path]),
                iamCredentialsEndpoint: server.base)
            let client = GCSClient(configuration: GCSConfiguration(credentials: .google(credentials)))
            let date = Date(timeIntervalSince1970: 1_772_600_767)
            let url = try await client.signedURL(
                bucket: "fanout-state", key: "bin/fanout", method: .get, expires: .seconds(86_400), date: date)
            #expect(url.absoluteString.contains("fanout-node%40test-project.iam.gserviceaccount.com"))

            let keyFile = folder.appendingPathComponent("metadata-key.json")
            try await server.metadataKey().write(to: keyFile)
            let reference = try await BotocoreCredentialOracle.run(
                script: Self.script,
                arguments: [
                    keyFile.path, "fanout-state", "bin/fanout", "GET", "86400", "https://storage.googleapis.com",
                    "1772600767",
                ])
            #expect(url.absoluteString == reference)
        }
    }

    @Test("credentials without a key cannot sign, and say what to set")
    func needsKey() async throws {
        let client = try makeGCSClient()
        let error = await #expect(throws: ObjectStoreError.self) {
            _ = try await client.signedURL(bucket: "b", key: "k", method: .get, expires: .seconds(60))
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.hint?.contains("GOOGLE_APPLICATION_CREDENTIALS") == true)
        let tooLong = await #expect(throws: ObjectStoreError.self) {
            _ = try await client.signedURL(bucket: "b", key: "k", method: .get, expires: .seconds(604_801))
        }
        #expect(tooLong?.message.contains("7 days") == true)
    }
}
