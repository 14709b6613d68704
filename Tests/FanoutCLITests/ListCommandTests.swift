import FanoutStorage
import FanoutTestSupport
import Foundation
import Testing

/// `fanout ls`, run as a built binary against a local folder and a moto bucket.
@Suite("fanout ls")
struct ListCommandTests {
    static let files: [(key: String, bytes: Int)] = [
        ("2024/01/a.csv", 10), ("2024/01/b.csv", 20), ("2024/02/a.csv", 30), ("index.html", 5), ("read me.txt", 7),
    ]
    static let totalBytes = files.reduce(0) { $0 + $1.bytes }

    /// Puts `files` in `store`.
    func fill(_ store: some ObjectStore) async throws {
        for file in Self.files { try await store.put(key: file.key, data: Data(repeating: 0x61, count: file.bytes)) }
    }

    /// The key and size of each listing line (`DATE TIME  SIZE  KEY`), skipping the total.
    func entries(_ result: FanoutBinary.Result) -> [(key: String, size: Int)] {
        result.lines.dropLast().compactMap { line in
            let fields = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: true)
            guard fields.count == 4, let size = Int(fields[2]) else { return nil }
            return (String(fields[3].drop { $0 == " " }), size)
        }
    }

    /// The JSON objects of `--json` output, one a line.
    func jsonLines(_ result: FanoutBinary.Result) throws -> [[String: Any]] {
        try result.lines.map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
        }
    }

    @Test("a local folder: every file in key order, then the total")
    func localFolder() async throws {
        try await withTemporaryDirectory { folder in
            try await fill(LocalObjectStore(root: folder))
            let result = try await FanoutBinary.run(["ls", folder.path])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(entries(result).map(\.key) == Self.files.map(\.key))
            #expect(entries(result).map(\.size) == Self.files.map(\.bytes))
            #expect(result.lines.last == "5 objects, \(Self.totalBytes) bytes (\(Self.totalBytes) B)")

            // A path prefix: the store is its parent folder, so keys are relative to that.
            let prefixed = try await FanoutBinary.run(["ls", folder.path + "/2024/0"])
            #expect(entries(prefixed).map(\.key) == ["01/a.csv", "01/b.csv", "02/a.csv"])
            #expect(prefixed.lines.last == "3 objects, 60 bytes (60 B)")
        }
    }

    @Test("an empty folder lists nothing and totals zero")
    func emptyFolder() async throws {
        try await withTemporaryDirectory { folder in
            let result = try await FanoutBinary.run(["ls", "file://" + folder.path + "/"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.lines == ["0 objects, 0 bytes (0 B)"])
        }
    }

    @Test("a moto bucket, as text and as JSON lines with a summary")
    func bucket() async throws {
        let client = try makeS3Client()
        try await withTemporaryBucket(client: client) { bucket in
            try await fill(client.store(bucket: bucket))
            let text = try await FanoutBinary.run(["ls", "s3://\(bucket)/"])
            #expect(text.status == 0, "\(text.stderr)")
            #expect(entries(text).map(\.key) == Self.files.map(\.key))
            #expect(text.lines.last == "5 objects, \(Self.totalBytes) bytes (\(Self.totalBytes) B)")

            let json = try await FanoutBinary.run(["ls", "s3://\(bucket)/2024/", "--json"])
            #expect(json.status == 0, "\(json.stderr)")
            let objects = try jsonLines(json)
            #expect(objects.dropLast().compactMap { $0["key"] as? String } == [
                "2024/01/a.csv", "2024/01/b.csv", "2024/02/a.csv",
            ])
            #expect(objects.dropLast().compactMap { $0["size"] as? Int } == [10, 20, 30])
            #expect(objects.dropLast().allSatisfy { ($0["etag"] as? String)?.isEmpty == false })
            let summary = try #require(objects.last?["summary"] as? [String: Any])
            #expect(summary["objects"] as? Int == 3)
            #expect(summary["bytes"] as? Int == 60)
        }
    }

    @Test("--endpoint names the server when no variable does")
    func endpointFlag() async throws {
        let client = try makeS3Client()
        try await withTemporaryBucket(client: client) { bucket in
            try await fill(client.store(bucket: bucket))
            var environment = try FanoutBinary.environment()
            environment["AWS_ENDPOINT_URL_S3"] = nil
            environment["AWS_ENDPOINT_URL"] = nil
            let result = try await FanoutBinary.run(
                ["ls", "s3://\(bucket)/index", "--endpoint", try TestEnvironment.s3Endpoint.absoluteString],
                environment: environment)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(entries(result).map(\.key) == ["index.html"])
        }
    }

    @Test("--delimiter / lists the top level: folders as PRE lines, then files")
    func delimiter() async throws {
        let client = try makeS3Client()
        try await withTemporaryBucket(client: client) { bucket in
            try await fill(client.store(bucket: bucket))
            let top = try await FanoutBinary.run(["ls", "s3://\(bucket)/", "--delimiter", "/"])
            #expect(top.status == 0, "\(top.stderr)")
            #expect(top.lines.filter { $0.hasSuffix("PRE 2024/") }.count == 1)
            #expect(entries(top).map(\.key) == ["index.html", "read me.txt"])
            #expect(top.lines.last == "2 objects, 12 bytes (12 B)")

            let months = try await FanoutBinary.run(["ls", "s3://\(bucket)/2024/", "--delimiter", "/", "--json"])
            let prefixes = try jsonLines(months).compactMap { $0["prefix"] as? String }
            #expect(prefixes == ["2024/01/", "2024/02/"])
        }
        try await withTemporaryDirectory { folder in
            try await fill(LocalObjectStore(root: folder))
            let local = try await FanoutBinary.run(["ls", folder.path, "--delimiter", "/"])
            #expect(local.lines.filter { $0.hasSuffix("PRE 2024/") }.count == 1)
            #expect(entries(local).map(\.key) == ["index.html", "read me.txt"])
        }
    }

    @Test("a missing bucket fails with the reason and what to do")
    func missingBucket() async throws {
        let bucket = uniqueBucketName()
        let result = try await FanoutBinary.run(["ls", "s3://\(bucket)/logs/"])
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("error: "))
        #expect(result.stderr.contains("s3://\(bucket)"))
        #expect(result.stderr.contains("NoSuchBucket"))
        #expect(result.stderr.contains("The bucket does not exist: check its name, or create it first."))
    }

    @Test("an unsupported scheme is refused, naming the ones that work")
    func unsupportedScheme() async throws {
        let result = try await FanoutBinary.run(["ls", "az://bucket/data/"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("'az://' is not a supported storage scheme"))
        #expect(result.stderr.contains("s3://BUCKET/PREFIX"))
    }

    @Test("a location naming no bucket is refused with an example")
    func noBucket() async throws {
        let result = try await FanoutBinary.run(["ls", "s3://"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("names no bucket"))
        #expect(result.stderr.contains("s3://my-bucket/"))
    }
}
