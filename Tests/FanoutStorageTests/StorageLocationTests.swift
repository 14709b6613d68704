import FanoutStorage
import FanoutTestSupport
import Foundation
import Testing

@Suite("StorageLocation")
struct StorageLocationTests {
    @Test("s3://bucket/prefix", arguments: [
        ("s3://bucket/logs/2024/", "bucket", "logs/2024/"),
        ("s3://bucket/logs/part-", "bucket", "logs/part-"),
        ("s3://bucket", "bucket", ""),
        ("s3://bucket/", "bucket", ""),
        ("s3://my.dotted-bucket/a b/ü", "my.dotted-bucket", "a b/ü"),
    ])
    func s3(text: String, bucket: String, prefix: String) throws {
        let location = try StorageLocation.parse(text)
        #expect(location.kind == .bucket(scheme: "s3", name: bucket))
        #expect(location.prefix == prefix)
        #expect(location.description == "s3://\(bucket)/\(prefix)")
        #expect(location.url(for: "x/y") == "s3://\(bucket)/x/y")
    }

    @Test("s3:// without a bucket is an error with an example", arguments: ["s3://", "s3:///logs/"])
    func s3WithoutBucket(text: String) {
        let error = #expect(throws: ObjectStoreError.self) { try StorageLocation.parse(text) }
        #expect(error?.code == .invalidURL)
        #expect(error?.hint?.contains("s3://") == true)
    }

    @Test("unsupported schemes are refused, naming the ones that work", arguments: [
        "az://bucket/x", "https://example.com/x", "hdfs://namenode/path",
    ])
    func unsupportedScheme(text: String) {
        let error = #expect(throws: ObjectStoreError.self) { try StorageLocation.parse(text) }
        #expect(error?.code == .invalidURL)
        #expect(error?.message.contains("not a supported storage scheme") == true)
        #expect(error?.hint?.contains("s3://") == true)
        #expect(error?.hint?.contains("gs://") == true)
        #expect(error?.hint?.contains("file://") == true)
    }

    @Test("gs://bucket/prefix is a Cloud Storage bucket, whose store comes from the registry")
    func gcs() throws {
        let location = try StorageLocation.parse("gs://my-bucket/logs/2024/")
        #expect(location.kind == .bucket(scheme: "gs", name: "my-bucket"))
        #expect(location.prefix == "logs/2024/")
        #expect(location.description == "gs://my-bucket/logs/2024/")
        #expect(location.url(for: "a b") == "gs://my-bucket/a b")
        let store = try location.store(in: ObjectStores(environment: [:]))
        #expect((store as? GCSObjectStore)?.bucket == "my-bucket")
        #expect(store.description == "gs://my-bucket")
        let missing = #expect(throws: ObjectStoreError.self) { try StorageLocation.parse("gs:///logs/") }
        #expect(missing?.hint?.contains("gs://BUCKET/PREFIX") == true)
    }

    @Test("an empty location is an error")
    func empty() {
        let error = #expect(throws: ObjectStoreError.self) { try StorageLocation.parse("") }
        #expect(error?.code == .invalidURL)
    }

    @Test("folders, file:// URLs and path prefixes")
    func local() async throws {
        try await withTemporaryDirectory { folder in
            let data = folder.appendingPathComponent("data", isDirectory: true)
            try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)

            let anonymousClient = S3Client(configuration: S3Configuration(credentials: .anonymous))
            let cases: [(String, URL, String)] = [
                (data.path, data, ""),
                (data.path + "/", data, ""),
                ("file://" + data.path, data, ""),
                ("file://" + data.path + "/", data, ""),
                (data.path + "/part-", data, "part-"),
                ("file://" + data.path + "/part-", data, "part-"),
                (data.path + "/not-yet/", data.appendingPathComponent("not-yet", isDirectory: true), ""),
                (data.path + "/../data/x", data, "x"),
            ]
            for (text, root, prefix) in cases {
                let location = try StorageLocation.parse(text)
                guard case .local(let parsedRoot) = location.kind else {
                    Issue.record("\(text) is not local: \(location)")
                    continue
                }
                #expect(parsedRoot.path == root.standardizedFileURL.path, "\(text)")
                #expect(location.prefix == prefix, "\(text)")
                #expect(try location.store(in: ObjectStores().with(anonymousClient)) is LocalObjectStore, "\(text)")
            }

            let prefixed = try StorageLocation.parse(data.path + "/part-")
            #expect(prefixed.description == data.path + "/part-")
            #expect(prefixed.url(for: "part-1") == data.appendingPathComponent("part-1").absoluteString)
        }
    }

    @Test("relative paths resolve against the working directory")
    func relative() throws {
        let location = try StorageLocation.parse("some/relative/prefix")
        guard case .local(let root) = location.kind else {
            Issue.record("not local: \(location)")
            return
        }
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).standardizedFileURL
        #expect(root.path == cwd.appendingPathComponent("some/relative").path)
        #expect(location.prefix == "prefix")
    }

    @Test("a file:// URL with a remote host is refused")
    func fileURLWithHost() {
        let error = #expect(throws: ObjectStoreError.self) { try StorageLocation.parse("file://server/share/x") }
        #expect(error?.code == .invalidURL)
    }
}
