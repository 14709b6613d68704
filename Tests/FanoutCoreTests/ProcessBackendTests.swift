import Foundation
import Synchronization
import Testing
@testable import FanoutCore
import FanoutTestSteps

@Suite(.serialized) struct ProcessBackendTests {
    @Test func workersRunShardsThroughTheStore() async throws {
        let corpus = try Corpus.make(count: 200)
        defer { corpus.remove() }
        let counts = Mutex<[Int]>([])
        let attempts = Mutex<[String]>([])
        let fanout = Fanout(
            options: RunOptions(
                backend: try TestWorker.backend(), sharding: .shards(5), state: corpus.state,
                onEvent: { event in
                    switch event {
                    case .workers(let running, _): counts.withLock { $0.append(running) }
                    case .launched(let launch): attempts.withLock { $0.append("launched \(launch.id)") }
                    case .attempt(.exited(let id, let exit)): attempts.withLock { $0.append("\(exit.outcome) \(id)") }
                    default: break
                    }
                }))
        let run = try await fanout.map(TestSteps.byteCount, over: Input(corpus.path))
        let outcomes = try await collect(run)
        #expect(outcomes.mapValues { $0.value } == Corpus.expectedSizes(count: 200).mapValues { Optional($0) })
        let commits = try FileManager.default.contentsOfDirectory(atPath: corpus.state + "v1/runs/\(run.id)/commits")
        #expect(commits.count == 5)
        // The caller saw the workers come and go: never more than two at once, none at the end.
        let seen = counts.withLock { $0 }
        #expect(seen.count == 10 && (seen.max() ?? 0) <= 2 && seen.last == 0, "\(seen)")
        // And each attempt, in the same stream: launched, then succeeded.
        let told = attempts.withLock { $0 }
        for shard in 0..<5 {
            let id = "shard \(shard) attempt 1"
            #expect(told.filter { $0.hasSuffix(id) } == ["launched \(id)", "succeeded \(id)"], "\(told)")
        }
    }

    @Test func aKilledWorkerLosesNothingAndCountsNothingTwice() async throws {
        let corpus = try Corpus.make(count: 60)
        defer { corpus.remove() }
        let options = RunOptions(
            backend: try TestWorker.backend(workers: 2), sharding: .shards(2), state: corpus.state,
            batching: SegmentBatching(maxRecords: 3, maxDelay: .milliseconds(100)))
        let run = try await Fanout(options: options).map(TestSteps.slowByteCount, over: Input(corpus.path))

        // Wait until a worker has stored some results, then kill it without warning. The wait runs on a thread of
        // its own: on a loaded machine the test's tasks can wait longer than a worker lives.
        final class Outcome: Sendable { let killed = Mutex<Bool?>(nil) }
        let outcome = Outcome()
        let killer = Thread {
            for _ in 0..<1500 {
                usleep(20_000)
                let segments = (try? FileManager.default.subpathsOfDirectory(atPath: corpus.state)) ?? []
                if segments.contains(where: { $0.contains("/segments/shard-") && $0.hasSuffix(".jsonl") }),
                    let pid = TestWorker.pids(ofRun: run.id).first
                {
                    kill(pid, SIGKILL)
                    outcome.killed.withLock { $0 = true }
                    return
                }
            }
            outcome.killed.withLock { $0 = false }
        }
        killer.start()
        let outcomes = try await collect(run)
        while outcome.killed.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(20)) }
        #expect(outcome.killed.withLock { $0 } == true)
        #expect(outcomes.count == 60)
        #expect(outcomes.mapValues { $0.value } == Corpus.expectedSizes(count: 60).mapValues { Optional($0) })
        #expect(outcomes.values.contains { $0.attempt == 2 }, "the killed shard ran again")
    }

    @Test func aShardThatKeepsFailingBecomesFailedFiles() async throws {
        let corpus = try Corpus.make(count: 6)
        defer { corpus.remove() }
        // A worker that cannot start: every attempt fails, and every file reports why.
        let broken = ProcessBackend(workers: 1, executable: "/bin/false", arguments: [])
        let run = try await Fanout(options: RunOptions(backend: broken, sharding: .shards(1), tolerance: .fraction(1), retries: 1))
            .map(TestSteps.byteCount, over: Input(corpus.path))
        let outcomes = try await collect(run)
        #expect(outcomes.count == 6)
        #expect(outcomes.values.allSatisfy { $0.failure?.message.contains("exited with status 1") == true })
    }

    @Test func aWorkerThatExitsWithoutRunningItsShardFailsIt() async throws {
        let corpus = try Corpus.make(count: 4)
        defer { corpus.remove() }
        // Exits 0 at once: no results, no commit. The files must fail, not vanish.
        let idle = ProcessBackend(workers: 1, executable: "/bin/true", arguments: [])
        let run = try await Fanout(options: RunOptions(backend: idle, sharding: .shards(2), tolerance: .fraction(1), retries: 0))
            .map(TestSteps.byteCount, over: Input(corpus.path))
        let outcomes = try await collect(run)
        #expect(outcomes.count == 4)
        #expect(outcomes.values.allSatisfy { $0.failure?.message.contains("exited without running it") == true })
        #expect(run.summary?.failed == 4)
    }

    @Test func cancellingStopsWorkersAndAttachFinishesTheRun() async throws {
        let corpus = try Corpus.make(count: 40)
        defer { corpus.remove() }
        let options = RunOptions(
            backend: try TestWorker.backend(workers: 2), sharding: .shards(4),
            batching: SegmentBatching(maxRecords: 2, maxDelay: .milliseconds(50)))
        let run = try await Fanout(options: options).map(TestSteps.slowByteCount, over: Input(corpus.path))
        let consumer = Task {
            var count = 0
            for try await _ in run {
                count += 1
                if count == 5 { break }
            }
            return count
        }
        #expect(try await consumer.value == 5)
        // The iterator is gone: the driver stops and terminates its workers.
        try await Task.sleep(for: .milliseconds(500))
        #expect(TestWorker.pids(ofRun: run.id).isEmpty)

        let attached = try await Fanout(options: options).attach(
            TestSteps.slowByteCount, runID: run.id, state: run.stateLocation)
        let outcomes = try await collect(attached)
        #expect(outcomes.count == 40)
        #expect(outcomes.mapValues { $0.value } == Corpus.expectedSizes(count: 40).mapValues { Optional($0) })
    }

    @Test func aCorruptSegmentIsReportedOnAttach() async throws {
        let corpus = try Corpus.make(count: 10)
        defer { corpus.remove() }
        let run = try await Fanout(options: RunOptions(state: corpus.state))
            .map(TestSteps.byteCount, over: Input(corpus.path))
        _ = try await collect(run)
        let folder = corpus.state + "v1/runs/\(run.id)/segments/shard-000000/"
        let segment = try #require(try FileManager.default.contentsOfDirectory(atPath: folder).first)
        let data = try Data(contentsOf: URL(fileURLWithPath: folder + segment))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: folder + segment))
        let attached = try await Fanout().attach(TestSteps.byteCount, runID: run.id, state: run.stateLocation)
        let error = await #expect(throws: RunError.self) { _ = try await collect(attached) }
        #expect(error?.code == .corruptState)
        #expect(error?.message.contains(segment) == true)
    }

    @Test func aCorruptSegmentFoundWhileWorkersRunIsReportedAsThatNotAsACancellation() async throws {
        // A shard holds a straggler, so the run is still going when the damage appears there.
        let corpus = try Corpus.make(count: 40, extra: ["straggler.txt": "slow"])
        defer { corpus.remove() }
        var options = RunOptions(
            backend: try TestWorker.backend(workers: 2), sharding: .shards(4), state: corpus.state,
            pollInterval: .milliseconds(50))
        options.backups = nil
        let run = try await Fanout(options: options).map(TestSteps.firstAttemptStraggles, over: Input(corpus.path))
        let collecting = Task { try await collect(run) }
        // Once the workers are storing results, a damaged segment appears: the driver's next look finds it.
        for _ in 0..<500 where TestWorker.pids(ofRun: run.id).isEmpty {
            try await Task.sleep(for: .milliseconds(10))
        }
        try await Task.sleep(for: .milliseconds(300))
        // In the straggler's shard, which stays open: a look reads only the shards still open.
        let part = try String(
            contentsOfFile: corpus.state + "v1/runs/\(run.id)/plan/part-000000.jsonl", encoding: .utf8)
        let line = try #require(part.split(separator: "\n").first { $0.hasPrefix("{\"files\"") && $0.contains("straggler.txt") })
        let shard = try JSONDecoder().decode(Shard.self, from: Data(line.utf8)).index
        let folder = corpus.state + "v1/runs/\(run.id)/segments/shard-\(RunStateLayout.pad(shard))/"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data("{\"o\":1,".utf8).write(to: URL(fileURLWithPath: folder + "9-damaged-000000.jsonl"))
        let error = await #expect(throws: (any Error).self) { _ = try await collecting.value }
        let runError = try #require(error as? RunError, "reported as \(String(describing: error))")
        #expect(runError.code == .corruptState)
        #expect(runError.message.contains("9-damaged-000000.jsonl"))
    }

    @Test func aProgramWithTwoSteps() async throws {
        let corpus = try Corpus.make(count: 0, extra: ["in/a.txt": "abc", "in/b.txt": "hello"])
        defer { corpus.remove() }
        let fanout = Fanout(options: RunOptions(backend: try TestWorker.backend(), state: corpus.state))
        let first = try await fanout.map(TestSteps.upperCase, over: Input(corpus.path + "in/"))
        #expect(try await collect(first).count == 2)
        let second = try await fanout.map(TestSteps.byteCount, over: Input(corpus.path + "upper/"))
        let outcomes = try await collect(second)
        #expect(outcomes.mapValues { $0.value } == ["a.txt": 3, "b.txt": 5])
        #expect(try String(contentsOfFile: corpus.path + "upper/b.txt", encoding: .utf8) == "HELLO")
    }

    @Test func aWorkerForAnUnknownStepSaysWhatToDo() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestWorker.path)
        process.environment = WorkerAssignment(
            runID: "r", stateLocation: "/tmp/none/", stepName: "no-such-step", shard: 0, attempt: 1
        ).environment
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 2)
        #expect(message.contains("Fanout.bootstrap"))
    }
}

@Suite struct DownloadFoldersTests {
    @Test func foldersOfProcessesThatAreGoneAreRemovedAndOthersKept() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("downloads-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        // A process that has ended (and been reaped): its id names no process now.
        let ended = Process()
        ended.executableURL = URL(fileURLWithPath: "/bin/true")
        try ended.run()
        ended.waitUntilExit()
        let dead = DownloadFolders.folder(pid: ended.processIdentifier, in: root)
        let live = DownloadFolders.folder(pid: getpid(), in: root)
        for folder in [dead, live] {
            let file = folder.appendingPathComponent("x/file.txt")
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data("x".utf8).write(to: file)
        }
        #expect(DownloadFolders.removeFoldersOfDeadProcesses(in: root) == [ended.processIdentifier])
        #expect(!FileManager.default.fileExists(atPath: dead.path))
        #expect(FileManager.default.fileExists(atPath: live.path))
    }
}
