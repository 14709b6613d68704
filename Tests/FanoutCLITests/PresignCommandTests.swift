import FanoutHTTP
import FanoutTestSupport
import Foundation
import Testing

/// `fanout presign`, run as a built binary; the URLs it prints are used without credentials.
@Suite("fanout presign")
struct PresignCommandTests {
    @Test("a presigned PUT then a presigned GET, used with curl and without credentials")
    func putThenGet() async throws {
        let client = try makeS3Client()
        try await withTemporaryBucket(client: client) { bucket in
            let put = try await FanoutBinary.run(
                ["presign", "s3://\(bucket)/shared/report v1.csv", "--method", "put", "--expires", "10m"])
            #expect(put.status == 0, "\(put.stderr)")
            let putURL = try #require(URL(string: put.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(putURL.query?.contains("X-Amz-Expires=600") == true)
            let body = Data("id,total\n1,42\n".utf8)
            let uploaded = try await HTTPClient().send(HTTPRequest(method: .put, url: putURL, body: .bytes(body)))
            #expect(uploaded.status == 200)

            let get = try await FanoutBinary.run(["presign", "s3://\(bucket)/shared/report v1.csv", "--json"])
            #expect(get.status == 0, "\(get.stderr)")
            let json = try #require(
                try JSONSerialization.jsonObject(with: Data(get.stdout.utf8)) as? [String: String])
            let getURL = try #require(json["url"])
            #expect(json["expiresAt"] != nil)
            #expect(getURL.contains("X-Amz-Expires=3600"))

            let curl = try await runProcess(
                URL(fileURLWithPath: "/usr/bin/curl"), ["--silent", "--show-error", "--fail", getURL],
                environment: ["PATH": "/usr/bin:/bin"])
            #expect(curl.status == 0, "\(curl.stderr)")
            #expect(curl.stdout == String(decoding: body, as: UTF8.self))
        }
    }

    @Test("--expires 8d is refused before anything is signed", arguments: ["8d", "0s", "605000"])
    func expiresTooLong(expires: String) async throws {
        let result = try await FanoutBinary.run(["presign", "s3://bucket/key", "--expires", expires])
        #expect(result.status == 64)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("--expires must be between 1s and 7d (got \(expires))"))
    }

    @Test("an --expires that is not a duration is refused")
    func expiresGarbage() async throws {
        let result = try await FanoutBinary.run(["presign", "s3://bucket/key", "--expires", "soon"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--expires"))
    }

    @Test("a bucket without a key is refused with an example")
    func noKey() async throws {
        let result = try await FanoutBinary.run(["presign", "s3://bucket/"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("names no object"))
        #expect(result.stderr.contains("s3://bucket/path/file.csv"))
    }

    @Test("a local path prints its file:// URL")
    func localPath() async throws {
        try await withTemporaryDirectory { folder in
            let file = folder.appendingPathComponent("notes.txt")
            try Data("x".utf8).write(to: file)
            let result = try await FanoutBinary.run(["presign", file.path])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout == file.absoluteString + "\n")
        }
    }
}

/// `fanout presign gs://`: a V4 signed URL from the service-account key of `GOOGLE_APPLICATION_CREDENTIALS`.
@Suite("fanout presign gs://")
struct PresignCommandGCSTests {
    @Test("signs with the key GOOGLE_APPLICATION_CREDENTIALS names, as its service account, for the time asked")
    func signsWithTheKey() async throws {
        let auth = try TestEnvironment.googleAuth
        let made = try await HTTPClient(configuration: .init(retry: .never)).send(
            HTTPRequest(
                method: .post, url: auth.appendingPathComponent("__test/service-account/presign-\(UUID().uuidString.prefix(8))"),
                body: .bytes("{}")),
            timeout: .seconds(30))
        try #require(made.status == 200)
        let key = try #require(try JSONSerialization.jsonObject(with: made.body) as? [String: Any])
        let email = try #require(key["client_email"] as? String)
        try await withTemporaryDirectory { folder in
            let keyFile = folder.appendingPathComponent("key.json")
            try made.body.write(to: keyFile)
            var environment = try FanoutBinary.environment()
            environment["GOOGLE_APPLICATION_CREDENTIALS"] = keyFile.path
            environment["STORAGE_EMULATOR_HOST"] = nil
            let result = try await FanoutBinary.run(
                ["presign", "gs://my-bucket/reports/q1 2026.csv", "--expires", "10m"], environment: environment)
            #expect(result.status == 0, "\(result.stderr)")
            let url = try #require(URLComponents(string: result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(url.host == "storage.googleapis.com")
            #expect(url.percentEncodedPath == "/my-bucket/reports/q1%202026.csv")
            let query = Dictionary(uniqueKeysWithValues: (url.queryItems ?? []).map { ($0.name, $0.value ?? "") })
            #expect(query["X-Goog-Algorithm"] == "GOOG4-RSA-SHA256")
            #expect(query["X-Goog-Expires"] == "600")
            #expect(query["X-Goog-Credential"]?.hasPrefix(email + "/") == true)
            #expect(query["X-Goog-Signature"]?.count == 512, "a 2048-bit RSA signature in hex")

            environment["GOOGLE_APPLICATION_CREDENTIALS"] = nil
            environment["STORAGE_EMULATOR_HOST"] = try TestEnvironment.gcsEmulator.absoluteString
            let unsigned = try await FanoutBinary.run(["presign", "gs://my-bucket/a.csv"], environment: environment)
            #expect(unsigned.status == 1)
            #expect(unsigned.stderr.contains("GOOGLE_APPLICATION_CREDENTIALS"), "\(unsigned.stderr)")
        }
    }
}
