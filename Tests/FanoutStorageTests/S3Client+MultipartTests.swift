import FanoutHTTP
@testable import FanoutStorage
import FanoutTestSupport
import Foundation
import Testing

/// Multipart uploads with a 6 MiB threshold and 5 MiB parts, so a 12 MiB object is three parts.
@Suite("S3Client: multipart uploads")
struct S3ClientMultipartTests {
    static let threshold = 6 << 20
    static let partSize = 5 << 20

    func client() throws -> S3Client {
        try makeS3Client { configuration in
            configuration.multipartThreshold = Self.threshold
            configuration.partSize = Self.partSize
            configuration.partConcurrency = 2
        }
    }

    /// The keys of the multipart uploads in progress in a bucket (ListMultipartUploads).
    func uploadsInProgress(_ client: S3Client, bucket: String) async throws -> [String] {
        let response = try await client.send(.get, bucket: bucket, query: [("uploads", nil)])
        let root = try XMLNode.parse(response.body)
        #expect(root.name == "ListMultipartUploadsResult")
        return root.children("Upload").compactMap { $0["Key"] }
    }

    /// Chunks of `size` bytes, `count` of them, then an error if `failing`.
    struct Chunks: AsyncSequence, Sendable {
        typealias Element = Data
        let size: Int
        let count: Int
        let failing: Bool

        struct StreamBroke: Error {}

        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(chunks: self) }

        struct AsyncIterator: AsyncIteratorProtocol {
            let chunks: Chunks
            var sent = 0

            mutating func next() async throws -> Data? {
                guard sent < chunks.count else {
                    if chunks.failing { throw StreamBroke() }
                    return nil
                }
                defer { sent += 1 }
                return patternBytes(chunks.size, seed: sent)
            }
        }

        var bytes: Data { (0..<count).reduce(into: Data()) { $0.append(patternBytes(size, seed: $1)) } }
    }

    @Test("a 12 MiB file goes up in three parts and reads back the same")
    func fileAboveThreshold() async throws {
        let client = try client()
        try await withTemporaryDirectory { folder in
            let file = folder.appendingPathComponent("big.bin")
            let data = patternBytes(12 << 20, seed: 11)
            try data.write(to: file)
            try await withTemporaryBucket(client: client) { bucket in
                let put = try await client.putObject(bucket: bucket, key: "big.bin", file: file)
                #expect(put.etag.hasSuffix("-3"))
                let info = try await client.headObject(bucket: bucket, key: "big.bin")
                #expect(info.size == Int64(data.count))
                #expect(info.etag == put.etag)
                #expect(try await client.getObject(bucket: bucket, key: "big.bin") == data)
                #expect(try await uploadsInProgress(client, bucket: bucket) == [String]())
            }
        }
    }

    @Test("a stream above the threshold is uploaded in parts as they fill")
    func streamAboveThreshold() async throws {
        let client = try client()
        try await withTemporaryBucket(client: client) { bucket in
            let chunks = Chunks(size: 1 << 20, count: 13, failing: false)
            let put = try await client.putObject(bucket: bucket, key: "streamed", chunks: chunks)
            #expect(put.etag.hasSuffix("-3"))
            #expect(try await client.getObject(bucket: bucket, key: "streamed") == chunks.bytes)
            #expect(try await uploadsInProgress(client, bucket: bucket) == [String]())
        }
    }

    @Test("a stream under the threshold is one PUT")
    func streamUnderThreshold() async throws {
        let client = try client()
        try await withTemporaryBucket(client: client) { bucket in
            let chunks = Chunks(size: 100_000, count: 5, failing: false)
            let put = try await client.putObject(bucket: bucket, key: "small", chunks: chunks)
            #expect(!put.etag.contains("-"))
            #expect(try await client.getObject(bucket: bucket, key: "small") == chunks.bytes)
        }
    }

    @Test("a stream that fails midway aborts the upload: no object, no upload left in progress")
    func failingStream() async throws {
        let client = try client()
        try await withTemporaryBucket(client: client) { bucket in
            // 12 MiB in: the upload has started and sent two parts when the stream throws.
            let chunks = Chunks(size: 1 << 20, count: 12, failing: true)
            await #expect(throws: Chunks.StreamBroke.self) {
                try await client.putObject(bucket: bucket, key: "broken", chunks: chunks)
            }
            let uploads = try await uploadsInProgress(client, bucket: bucket)
            #expect(uploads.isEmpty)
            let head = await #expect(throws: ObjectStoreError.self) {
                _ = try await client.headObject(bucket: bucket, key: "broken")
            }
            #expect(head?.code == .notFound)
        }
    }

    @Test("a cancelled upload aborts: no object, no upload left in progress")
    func cancelledUpload() async throws {
        let client = try client()
        try await withTemporaryBucket(client: client) { bucket in
            let (chunks, producer) = AsyncStream.makeStream(of: Data.self)
            let upload = Task {
                try await client.putObject(bucket: bucket, key: "cancelled", chunks: chunks)
            }
            // 8 MiB: past the threshold, so the multipart upload has begun; then the producer stalls.
            for seed in 0..<8 { producer.yield(patternBytes(1 << 20, seed: seed)) }
            try await waitUntil { try await uploadsInProgress(client, bucket: bucket) == ["cancelled"] }
            upload.cancel()
            let result = await upload.result
            #expect(throws: (any Error).self) { try result.get() }
            producer.finish()
            #expect(try await uploadsInProgress(client, bucket: bucket) == [String]())
            let head = await #expect(throws: ObjectStoreError.self) {
                _ = try await client.headObject(bucket: bucket, key: "cancelled")
            }
            #expect(head?.code == .notFound)
        }
    }

    @Test("ifNoneMatch applies to multipart uploads too")
    func conditionalMultipart() async throws {
        let client = try client()
        try await withTemporaryBucket(client: client) { bucket in
            try await client.putObject(bucket: bucket, key: "exists", data: Data("first".utf8))
            let chunks = Chunks(size: 1 << 20, count: 7, failing: false)
            let error = await #expect(throws: ObjectStoreError.self) {
                try await client.putObject(
                    bucket: bucket, key: "exists", chunks: chunks, options: PutOptions(ifNoneMatch: true))
            }
            #expect(error?.code == .preconditionFailed)
            #expect(try await client.getObject(bucket: bucket, key: "exists") == Data("first".utf8))
            #expect(try await uploadsInProgress(client, bucket: bucket) == [String]())
        }
    }
}

/// Polls `condition` every 50 ms until it holds; fails after `timeout`.
func waitUntil(
    timeout: Duration = .seconds(10), _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition did not hold within \(timeout)")
            return
        }
        try await Task.sleep(for: .milliseconds(50))
    }
}
