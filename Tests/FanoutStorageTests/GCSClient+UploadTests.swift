import FanoutStorage
import FanoutTestSupport
import Foundation
import Testing

@Suite("GCSClient: uploads and generation preconditions")
struct GCSClientUploadTests {
    @Test("a file above the threshold goes up in resumable chunks and reads back whole and in ranges")
    func resumable() async throws {
        let client = try makeGCSClient { $0.resumableThreshold = 256 << 10; $0.chunkSize = 256 << 10 }
        try await withTemporaryGCSBucket { bucket in
            try await withTemporaryDirectory { folder in
                let bytes = patternBytes((1 << 20) + 17)
                let file = folder.appendingPathComponent("big.bin")
                try bytes.write(to: file)
                let store = client.store(bucket: bucket)
                let put = try await store.put(key: "big/file.bin", file: file, options: PutOptions())
                let info = try await store.head(key: "big/file.bin")
                #expect(info.size == Int64(bytes.count))
                #expect(info.etag == put.etag)
                #expect(try await store.get(key: "big/file.bin") == bytes)
                #expect(try await store.get(key: "big/file.bin", range: 300_000...300_099) == bytes[300_000...300_099])
                var streamed = Data()
                for try await chunk in try await store.stream(key: "big/file.bin", range: nil, ifMatch: put.etag) {
                    streamed.append(chunk)
                }
                #expect(streamed == bytes)
            }
        }
    }

    @Test("ifGenerationMatch: 0 creates once; a generation replaces only that version; a gone object is notFound")
    func preconditions() async throws {
        let client = try makeGCSClient()
        try await withTemporaryGCSBucket { bucket in
            let store = client.store(bucket: bucket)
            let first = try await store.put(key: "lease", data: Data("one".utf8), options: PutOptions(ifNoneMatch: true))
            let again = await #expect(throws: ObjectStoreError.self) {
                try await store.put(key: "lease", data: Data("two".utf8), options: PutOptions(ifNoneMatch: true))
            }
            #expect(again?.code == .preconditionFailed)
            #expect(again?.description.contains("gs://\(bucket)/lease") == true)

            let second = try await store.put(key: "lease", data: Data("two".utf8), options: PutOptions(ifMatch: first.etag))
            #expect(second.etag != first.etag)
            let stale = await #expect(throws: ObjectStoreError.self) {
                try await store.put(key: "lease", data: Data("three".utf8), options: PutOptions(ifMatch: first.etag))
            }
            #expect(stale?.code == .preconditionFailed)
            #expect(try await store.get(key: "lease") == Data("two".utf8))

            // A read pinned to the old generation fails, whole or streamed.
            let oldRead = await #expect(throws: ObjectStoreError.self) {
                _ = try await store.get(key: "lease", range: nil, ifMatch: first.etag)
            }
            #expect(oldRead?.code == .preconditionFailed)
            let oldStream = await #expect(throws: ObjectStoreError.self) {
                _ = try await store.stream(key: "lease", range: nil, ifMatch: first.etag)
            }
            #expect(oldStream?.code == .preconditionFailed)

            try await store.delete(key: "lease")
            let gone = await #expect(throws: ObjectStoreError.self) {
                try await store.put(key: "lease", data: Data("four".utf8), options: PutOptions(ifMatch: second.etag))
            }
            #expect(gone?.code == .notFound)
        }
    }

    @Test("many deletes in one call leave nothing; a missing key is no error")
    func deleteMany() async throws {
        let client = try makeGCSClient()
        try await withTemporaryGCSBucket { bucket in
            let store = client.store(bucket: bucket)
            let keys = (0..<30).map { "d/\($0)" }
            try await putObjects(keys, into: store)
            try await store.delete(keys: keys + ["d/missing"])
            #expect(try await store.list(prefix: "d/").collect().isEmpty)
        }
    }
}
