import FanoutStorage
import FanoutTestSupport
import Foundation
import Testing

/// Input mistakes are errors that say what was looked for; none exits 0 with an empty answer.
@Suite(.serialized) struct RunCommandInputTests {
    @Test func aLocalPathThatIsNotThereIsAnError() async throws {
        try await withTemporaryDirectory { folder in
            let missing = folder.appendingPathComponent("does-not-exist").path
            let run = try await FanoutBinary.run(["run", missing, "-q", "--reduce", "sum", "--", "wc", "-l", "{}"])
            #expect(run.status == 1)
            #expect(run.stderr.contains("no such file or folder: \(missing)"), "\(run.stderr)")
            #expect(run.stdout.isEmpty)
            let deeper = try await FanoutBinary.run(["run", missing + "/sub/", "-q", "--", "true"])
            #expect(deeper.status == 1)
            #expect(deeper.stderr.contains("no such file or folder"), "\(deeper.stderr)")
            let contents = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            #expect(contents.isEmpty, "nothing is stored for a run that cannot start: \(contents)")
        }
    }

    @Test func fileNamesThatAreNotUTF8AreCounted() async throws {
        try await withTemporaryDirectory { folder in
            // Latin-1 names from an old system, a folder with one, a stray byte, and plain names: 14 words.
            let files: [([UInt8], String)] = [
                (Array("caf".utf8) + [0xE9] + Array(".txt".utf8), "one two three"),
                (Array("na".utf8) + [0xEF, 0x76, 0x65, 0xFF] + Array(".txt".utf8), "four five"),
                (Array("sub".utf8) + [0xE9] + Array("/x.txt".utf8), "six seven eight nine"),
                (Array("ok.txt".utf8), "ten eleven"),
                (Array("dir/plain.txt".utf8), "twelve thirteen fourteen"),
            ]
            for (name, text) in files {
                let path = Array(folder.path.utf8) + [0x2F] + name
                if let slash = name.lastIndex(of: 0x2F) {
                    let parent = Array(folder.path.utf8) + [0x2F] + name[..<slash]
                    #expect(mkdir(parent.map { CChar(bitPattern: $0) } + [0], 0o755) == 0)
                }
                let descriptor = open(path.map { CChar(bitPattern: $0) } + [0], O_CREAT | O_WRONLY, 0o644)
                #expect(descriptor >= 0)
                _ = text.withCString { write(descriptor, $0, strlen($0)) }
                close(descriptor)
            }
            let run = try await FanoutBinary.run(["run", folder.path, "-q", "--reduce", "sum", "--", "wc", "-w", "{}"])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "14", "\(run.stdout) \(run.stderr)")
        }
    }

    @Test func aURLWithOneSlashIsAUsageErrorAndCreatesNothing() async throws {
        try await withTemporaryDirectory { folder in
            var environment = try FanoutBinary.environment()
            environment["PWD"] = folder.path
            let run = try await runProcess(
                URL(fileURLWithPath: "/bin/sh"),
                ["-c", "cd \"$1\" && exec \"$2\" run s3:/bucket/x -- true", "sh", folder.path,
                 try FanoutBinary.location().path],
                environment: environment)
            #expect(run.status == 64, "\(run.stderr)")
            #expect(run.stderr.contains("s3://bucket/x"), "the message shows the URL as meant: \(run.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty, "no folder named s3:")
        }
    }

    @Test func anS3PrefixWithNothingUnderItIsAnError() async throws {
        let client = try makeS3Client()
        try await withTemporaryBucket(client: client) { bucket in
            try await client.putObject(bucket: bucket, key: "logs/a.log", data: Data("x\n".utf8))
            let typo = try await FanoutBinary.run(["run", "s3://\(bucket)/lgos/", "-q", "--reduce", "sum", "--", "wc", "-l", "{}"])
            #expect(typo.status == 1)
            #expect(typo.stderr.contains("nothing found under s3://\(bucket)/lgos/"), "\(typo.stderr)")
            #expect(typo.stdout.isEmpty)

            let filtered = try await FanoutBinary.run(
                ["run", "s3://\(bucket)/logs/", "--include", "*.jsn", "-q", "--", "wc", "-l", "{}"])
            #expect(filtered.status == 1)
            #expect(filtered.stderr.contains("none of the 1 file under"), "\(filtered.stderr)")

            let allowed = try await FanoutBinary.run(
                ["run", "s3://\(bucket)/lgos/", "--allow-empty", "-q", "--reduce", "count", "--", "true"])
            #expect(allowed.status == 0, "\(allowed.stderr)")
            #expect(allowed.stdout == "0\n")
        }
    }

    @Test func negativeNumbersAndBadQuantitiesSayWhatIsWrong() async throws {
        try await withTemporaryDirectory { folder in
            try Data("x\n".utf8).write(to: folder.appendingPathComponent("a.txt"))
            let cases: [([String], String)] = [
                (["--shards", "-3"], "--shards must be at least 1"),
                (["--workers", "-1"], "--workers must be at least 1"),
                (["--retries", "-2"], "--retries must be 0 or more"),
                (["--min-size", "-5"], "--min-size must be 0 or more"),
                (["--parallelism", "0"], "--parallelism must be at least 1"),
                (["--memory", "lots"], "--memory 'lots' is not a quantity"),
                (["--cpu", "two"], "--cpu 'two' is not a quantity"),
            ]
            for (flags, message) in cases {
                let run = try await FanoutBinary.run(["run", folder.path] + flags + ["--", "true"])
                #expect(run.status == 64, "\(flags): \(run.stderr)")
                #expect(run.stderr.contains(message), "\(flags): \(run.stderr)")
                #expect(!run.stderr.contains("Missing value"), "\(flags): \(run.stderr)")
            }
            let fine = try await FanoutBinary.run(
                ["run", folder.path, "--memory", "1.5Gi", "--cpu", "500m", "-q", "--reduce", "count", "--", "true"])
            #expect(fine.status == 0, "\(fine.stderr)")
        }
    }
}
