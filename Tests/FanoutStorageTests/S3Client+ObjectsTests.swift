import Crypto
import FanoutHTTP
@testable import FanoutStorage
import FanoutTestSupport
import Foundation
import Testing

@Suite("S3Client: objects")
struct S3ClientObjectsTests {
    func md5Hex(_ data: Data) -> String {
        Insecure.MD5.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    @Test("PUT stores the content type; HEAD reports size and the MD5 ETag")
    func putAndHead() async throws {
        let client = try makeS3Client()
        try await withTemporaryBucket(client: client) { bucket in
            let data = Data("a,b\n1,2\n".utf8)
            let put = try await client.putObject(
                bucket: bucket, key: "t.csv", data: data, options: PutOptions(contentType: "text/csv"))
            #expect(put.etag == md5Hex(data))
            let info = try await client.headObject(bucket: bucket, key: "t.csv")
            #expect(info.size == Int64(data.count))
            #expect(info.etag == md5Hex(data))
            let raw = try await client.send(.head, bucket: bucket, key: "t.csv")
            #expect(raw.headers["Content-Type"] == "text/csv")
        }
    }

    @Test("keys with `.` and `..` segments are sent as they are, not resolved, and round-trip")
    func dotSegmentKeys() async throws {
        let client = try makeS3Client()
        try await withTemporaryBucket(client: client) { bucket in
            let keys = ["logs/../x", "a/./b", "../up", "./here", "dir/../../y", "end/..", "end/."]
            for key in keys {
                // SigV4 leaves `.` unencoded and S3's canonical URI keeps dot segments: the path is the key itself.
                #expect(client.url(bucket: bucket, key: key).absoluteString.hasSuffix("/\(bucket)/\(key)"))
                try await client.putObject(bucket: bucket, key: key, data: Data(key.utf8))
            }
            let listed = try await client.store(bucket: bucket).list(prefix: "", options: ListOptions()).collect()
            #expect(listed.map(\.key) == keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
            for key in keys {
                #expect(try await client.getObject(bucket: bucket, key: key) == Data(key.utf8), "\(key)")
                #expect(try await client.headObject(bucket: bucket, key: key).size == Int64(key.utf8.count))
            }
        }
    }

    @Test("GET streams a large object chunk by chunk, with its length")
    func streamLarge() async throws {
        let client = try makeS3Client()
        try await withTemporaryBucket(client: client) { bucket in
            let data = patternBytes(3 << 20, seed: 3)
            try await client.putObject(bucket: bucket, key: "big", data: data)
            let stream = try await client.streamObject(bucket: bucket, key: "big")
            #expect(stream.length == Int64(data.count))
            var received = Data()
            var chunks = 0
            for try await chunk in stream {
                received.append(chunk)
                chunks += 1
            }
            #expect(received == data)
            #expect(chunks > 1)
            let ranged = try await client.streamObject(bucket: bucket, key: "big", range: 1000...1999)
            #expect(ranged.length == 1000)
        }
    }

    @Test("a file at or under the multipart threshold is one PUT")
    func putSmallFile() async throws {
        let client = try makeS3Client { $0.multipartThreshold = 6 << 20 }
        try await withTemporaryDirectory { folder in
            let file = folder.appendingPathComponent("small.bin")
            let data = patternBytes(6 << 20)
            try data.write(to: file)
            try await withTemporaryBucket(client: client) { bucket in
                let put = try await client.putObject(bucket: bucket, key: "small.bin", file: file)
                #expect(put.etag == md5Hex(data))
                #expect(try await client.getObject(bucket: bucket, key: "small.bin") == data)
            }
        }
    }

    @Test("DeleteObjects removes 1,500 keys in two batches")
    func batchDelete() async throws {
        let client = try makeS3Client()
        try await withTemporaryBucket(client: client) { bucket in
            let store = client.store(bucket: bucket)
            let keys = (0..<1500).map { "del/\($0)" }
            try await putObjects(keys + ["del-not/keep"], into: store) { _ in Data() }
            #expect(try await store.keys(prefix: "del/").count == 1500)
            try await client.deleteObjects(bucket: bucket, keys: keys + ["del/never-existed"])
            #expect(try await store.keys() == ["del-not/keep"])
        }
    }

    @Test("DELETE of one key, present or not")
    func deleteOne() async throws {
        let client = try makeS3Client()
        try await withTemporaryBucket(client: client) { bucket in
            try await client.putObject(bucket: bucket, key: "gone soon", data: Data("x".utf8))
            try await client.deleteObject(bucket: bucket, key: "gone soon")
            try await client.deleteObject(bucket: bucket, key: "gone soon")
            let error = await #expect(throws: ObjectStoreError.self) {
                _ = try await client.headObject(bucket: bucket, key: "gone soon")
            }
            #expect(error?.code == .notFound)
        }
    }

    @Test("presigned PUT and GET URLs work with a plain HTTP client")
    func presigned() async throws {
        let client = try makeS3Client()
        let http = HTTPClient()
        try await withTemporaryBucket(client: client) { bucket in
            let key = "shared/report 2024+v1.csv"
            let data = patternBytes(10_000)
            let putURL = try await client.presignedURL(bucket: bucket, key: key, method: .put, expires: .seconds(600))
            let query = URLComponents(url: putURL, resolvingAgainstBaseURL: false)?.queryItems ?? []
            #expect(query.first { $0.name == "X-Amz-Expires" }?.value == "600")
            #expect(query.contains { $0.name == "X-Amz-Signature" })
            let put = try await http.send(HTTPRequest(method: .put, url: putURL, body: .bytes(data)))
            #expect(put.status == 200)

            let getURL = try await client.presignedURL(bucket: bucket, key: key, method: .get, expires: .seconds(60))
            let get = try await http.send(HTTPRequest(url: getURL))
            #expect(get.status == 200)
            #expect(get.body == data)
        }
    }

    @Test("a presigned URL signed two hours ago for one hour carries a window that has passed")
    func presignedExpiry() async throws {
        let signedAt = Date().addingTimeInterval(-7200)
        let client = try makeS3Client { configuration in configuration.now = { signedAt } }
        try await withTemporaryBucket(client: client) { bucket in
            try await client.putObject(bucket: bucket, key: "k", data: Data("secret".utf8))
            let url = try await client.presignedURL(bucket: bucket, key: "k", method: .get, expires: .seconds(3600))

            // The URL's own validity window: signed at X-Amz-Date, for X-Amz-Expires seconds.
            let query = URLComponents(url: url, resolvingAgainstBaseURL: false)?.queryItems ?? []
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
            let date = try #require(query.first { $0.name == "X-Amz-Date" }?.value.flatMap(formatter.date(from:)))
            let expires = try #require(query.first { $0.name == "X-Amz-Expires" }?.value.flatMap(Double.init))
            #expect(abs(date.timeIntervalSince(signedAt)) < 1)
            #expect(expires == 3600)
            #expect(date.addingTimeInterval(expires) < Date())
        }
    }

    @Test("presigning for more than 7 days is refused")
    func presignTooLong() async throws {
        let client = try makeS3Client()
        let error = await #expect(throws: ObjectStoreError.self) {
            _ = try await client.presignedURL(bucket: "b", key: "k", method: .get, expires: .seconds(8 * 86400))
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.hint?.contains("7 days") == true)
    }
}
