import FanoutStorage
import FanoutTestSupport
import Foundation
import Testing

/// `fanout ls` and `fanout run` over `gs://` on fake-gcs-server (`STORAGE_EMULATOR_HOST`), and runs that mix it with
/// `s3://` on moto.
@Suite("gs:// from the command line", .serialized)
struct CloudStorageCommandTests {
    /// The CLI's environment with Cloud Storage pointed at the emulator.
    func environment() throws -> [String: String] {
        var environment = try FanoutBinary.environment()
        environment["STORAGE_EMULATOR_HOST"] = try TestEnvironment.gcsEmulator.absoluteString
        return environment
    }

    /// Files `logs/n-00i.txt` holding `i + 1` lines, and one file outside the prefix.
    func fill(_ store: some ObjectStore, count: Int) async throws {
        for index in 0..<count {
            let text = String(repeating: "x\n", count: index + 1)
            try await store.put(key: String(format: "logs/n-%03d.txt", index), data: Data(text.utf8))
        }
        try await store.put(key: "other/ignored.txt", data: Data("x\nx\nx\n".utf8))
    }

    @Test("fanout ls gs://: keys and sizes in key order, and folders with --delimiter")
    func list() async throws {
        let client = try makeGCSClient()
        try await withTemporaryGCSBucket { bucket in
            try await fill(client.store(bucket: bucket), count: 3)
            let result = try await FanoutBinary.run(["ls", "gs://\(bucket)/logs/", "--json"], environment: environment())
            #expect(result.status == 0, "\(result.stderr)")
            let keys = result.lines.compactMap { line in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["key"] as? String
            }
            #expect(keys == ["logs/n-000.txt", "logs/n-001.txt", "logs/n-002.txt"])
            #expect(result.lines.last?.contains(#""bytes":12"#) == true, "\(result.stdout)")

            let folders = try await FanoutBinary.run(
                ["ls", "gs://\(bucket)/", "--delimiter", "/"], environment: environment())
            #expect(folders.lines.filter { $0.contains("PRE ") }.map { $0.split(separator: " ").last ?? "" }
                == ["logs/", "other/"])
        }
    }

    @Test("a bucket that does not exist: exit 1, the gs:// location, and what to do")
    func missingBucket() async throws {
        let bucket = uniqueBucketName()
        let result = try await FanoutBinary.run(["ls", "gs://\(bucket)/logs/"], environment: environment())
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("error: "), "\(result.stderr)")
        #expect(result.stderr.contains("gs://\(bucket)"))
        #expect(result.stderr.contains("The bucket does not exist: check its name, or create it first."))

        let run = try await FanoutBinary.run(
            ["run", "gs://\(bucket)/logs/", "-q", "--", "wc", "-l", "{}"], environment: environment())
        #expect(run.status == 1)
        #expect(run.stderr.contains("gs://\(bucket)"), "\(run.stderr)")
    }

    @Test("fanout run gs://bucket/prefix/ --reduce sum -- wc -l {}, in process and in worker processes",
        arguments: ["local", "processes"])
    func runSum(backend: String) async throws {
        let client = try makeGCSClient()
        try await withTemporaryGCSBucket { bucket in
            try await fill(client.store(bucket: bucket), count: 12)
            let result = try await FanoutBinary.run(
                ["run", "gs://\(bucket)/logs/", "--backend", backend, "--reduce", "sum", "-q", "--", "wc", "-l", "{}"],
                environment: environment())
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout == "\((1...12).reduce(0, +))\n")
        }
    }

    @Test("a mixed run: input on gs://, state on s3://, and the other way round")
    func mixed() async throws {
        let gcs = try makeGCSClient()
        let s3 = try makeS3Client()
        try await withTemporaryGCSBucket { gcsBucket in
            try await withTemporaryBucket(client: s3) { s3Bucket in
                try await fill(gcs.store(bucket: gcsBucket), count: 5)
                try await fill(s3.store(bucket: s3Bucket), count: 7)

                let fromGCS = try await FanoutBinary.run(
                    ["run", "gs://\(gcsBucket)/logs/", "--state", "s3://\(s3Bucket)/fanout-state/", "--backend",
                     "processes", "--reduce", "sum", "-q", "--", "wc", "-l", "{}"],
                    environment: environment())
                #expect(fromGCS.status == 0, "\(fromGCS.stderr)")
                #expect(fromGCS.stdout == "15\n")
                let s3State = try await s3.store(bucket: s3Bucket).list(prefix: "fanout-state/").collect()
                #expect(s3State.contains { $0.key.hasSuffix("/spec.json") })

                let fromS3 = try await FanoutBinary.run(
                    ["run", "s3://\(s3Bucket)/logs/", "--state", "gs://\(gcsBucket)/fanout-state/", "--backend",
                     "processes", "--reduce", "sum", "-q", "--", "wc", "-l", "{}"],
                    environment: environment())
                #expect(fromS3.status == 0, "\(fromS3.stderr)")
                #expect(fromS3.stdout == "28\n")
                let gcsState = try await gcs.store(bucket: gcsBucket).list(prefix: "fanout-state/").collect()
                #expect(gcsState.contains { $0.key.hasSuffix("/summary.json") })

                // The runs are listed from either state prefix.
                let runs = try await FanoutBinary.run(
                    ["runs", "--state", "gs://\(gcsBucket)/fanout-state/"], environment: environment())
                #expect(runs.status == 0, "\(runs.stderr)")
                #expect(runs.stdout.contains("s3://\(s3Bucket)/logs/"), "\(runs.stdout)")
            }
        }
    }
}
