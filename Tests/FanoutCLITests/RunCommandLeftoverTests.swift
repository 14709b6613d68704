import FanoutStorage
import FanoutTestSupport
import Foundation
import Testing

/// A killed worker leaves nothing behind: no commands running on as orphans, no download folders.
@Suite(.serialized) struct RunCommandLeftoverTests {
    /// Whether a process is gone (a zombie waiting for a parent that does not reap counts as gone).
    func isGone(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return true }
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        return stat.split(separator: ")").last?.split(separator: " ").first == "Z"
    }

    func eventually(_ seconds: Double, _ condition: () throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try condition()
    }

    func pids(in folder: URL) -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.compactMap { try? String(contentsOf: folder.appendingPathComponent($0), encoding: .utf8) }
            .compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    func downloadFolders(in folder: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter {
            $0.hasPrefix("fanout-")
        }
    }

    @Test func aKilledWorkersCommandsStopAndItsDownloadsAreRemoved() async throws {
        let client = try makeS3Client()
        try await withTemporaryBucket(client: client) { bucket in
            for index in 0..<3 {
                try await client.putObject(bucket: bucket, key: "in/\(index).txt", data: Data("x\n".utf8))
            }
            try await withTemporaryDirectory { folder in
                let pidFolder = folder.appendingPathComponent("pids")
                let temporary = folder.appendingPathComponent("tmp")
                try FileManager.default.createDirectory(at: pidFolder, withIntermediateDirectories: true)
                try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
                var environment = try FanoutBinary.environment()
                environment["TMPDIR"] = temporary.path
                let driver = Process()
                driver.executableURL = try FanoutBinary.location()
                driver.arguments = [
                    "run", "s3://\(bucket)/in/", "-q", "--backend", "processes", "--workers", "1", "--shards", "1",
                    "--", "sh", "-c", "echo $$ > \"$0/$FANOUT_NAME\"; exec sleep 60", pidFolder.path, "{}",
                ]
                driver.environment = environment
                driver.standardOutput = FileHandle.nullDevice
                driver.standardError = FileHandle.nullDevice
                try driver.run()
                defer { if driver.isRunning { kill(driver.processIdentifier, SIGKILL) } }

                // The worker is downloading and running its commands.
                #expect(try await eventually(30) { pids(in: pidFolder).count == 3 })
                let first = pids(in: pidFolder)
                let folders = downloadFolders(in: temporary)
                let worker = try #require(folders.first.flatMap { Int32($0.dropFirst("fanout-downloads-".count)) })
                #expect(folders == ["fanout-downloads-\(worker)"], "one folder per worker process: \(folders)")
                kill(worker, SIGKILL)

                #expect(try await eventually(10) { first.allSatisfy(isGone) }, "the killed worker's commands stop")
                // The shard starts again in a new worker, whose first download removes the dead worker's folder.
                #expect(try await eventually(30) {
                    let now = downloadFolders(in: temporary)
                    return !now.contains("fanout-downloads-\(worker)") && !now.isEmpty
                }, "\(downloadFolders(in: temporary))")
                #expect(try await eventually(30) { Set(pids(in: pidFolder)).isDisjoint(with: first) })
                let second = pids(in: pidFolder)

                // Killing the driver stops its worker, and the worker's commands, too.
                kill(driver.processIdentifier, SIGKILL)
                #expect(try await eventually(10) { second.allSatisfy(isGone) }, "no orphans of a killed driver")
            }
        }
    }
}
