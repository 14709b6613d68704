import FanoutStorage
import FanoutTestSupport
import Foundation
import Testing

@Suite("GCSClient: Objects.list")
struct GCSClientListTests {
    /// Keys that need encoding in paths and queries, folders several deep, and names that sort around `/`.
    static let keys = [
        "logs/2024/01.json", "logs/2024/02.json", "logs/2025/01.json", "logs/a b+c?d#e.txt", "logs/ü/ñ.txt",
        "logs-old/x", "logs/z", "top.txt", "logs/2024-summary",
    ] + (0..<20).map { String(format: "many/%03d", $0) }

    @Test("listings match google-cloud-storage's: names, sizes, generations, prefixes", arguments: [
        ("", nil, nil), ("logs/", nil, nil), ("logs/", "/", nil), ("", "/", nil), ("logs", "/", nil),
        ("many/", nil, "many/009"), ("logs/2024", nil, nil),
    ] as [(String, String?, String?)])
    func matchesGoogleClient(prefix: String, delimiter: String?, startAfter: String?) async throws {
        let client = try makeGCSClient()
        try await withTemporaryGCSBucket { bucket in
            let store = client.store(bucket: bucket)
            try await putObjects(Self.keys, into: store) { Data(repeating: 7, count: $0.count) }

            var objects: [ObjectInfo] = []
            var prefixes: [String] = []
            let options = ListOptions(startAfter: startAfter, pageSize: 4, delimiter: delimiter)
            for try await page in store.list(prefix: prefix, options: options).pages {
                objects += page.objects
                prefixes += page.commonPrefixes
            }
            let reference = try await GoogleStorageOracle.list(
                bucket: bucket, prefix: prefix, delimiter: delimiter, startAfter: startAfter)
            #expect(!reference.objects.isEmpty || !reference.prefixes.isEmpty)
            #expect(objects.map(\.key) == reference.objects.map(\.name))
            #expect(objects.map(\.size) == reference.objects.map(\.size))
            #expect(objects.map(\.etag) == reference.objects.map(\.generation))
            #expect(prefixes.sorted() == reference.prefixes)
        }
    }

    @Test("25 keys come in pages of at most 10, in order, each page after the last")
    func pagination() async throws {
        let client = try makeGCSClient()
        try await withTemporaryGCSBucket { bucket in
            let store = client.store(bucket: bucket)
            let keys = (0..<25).map { String(format: "p/%02d", $0) }
            try await putObjects(keys.shuffled(), into: store)
            let pages = try await store.pages(prefix: "p/", options: ListOptions(pageSize: 10))
            #expect(pages.map(\.keys.count) == [10, 10, 5])
            #expect(pages.flatMap(\.keys) == keys)
            let modified = try await store.list(prefix: "p/").collect().map(\.lastModified)
            #expect(modified.allSatisfy { abs($0.timeIntervalSinceNow) < 3600 })
        }
    }

    @Test("listing a bucket that does not exist says so, with gs:// and a hint")
    func missingBucket() async throws {
        let client = try makeGCSClient()
        let bucket = uniqueBucketName()
        let error = await #expect(throws: ObjectStoreError.self) {
            _ = try await client.store(bucket: bucket).list(prefix: "").collect()
        }
        #expect(error?.code == .noSuchBucket)
        #expect(error?.status == 404)
        #expect(error?.description.contains("gs://\(bucket)") == true)
        #expect(error?.hint?.contains("create it first") == true)
    }
}
