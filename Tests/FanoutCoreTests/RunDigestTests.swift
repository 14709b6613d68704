import FanoutStorage
import Foundation
import Testing
import FanoutTestSteps
@testable import FanoutCore

/// Run state changed after a run began never runs: workers and re-attaching drivers check the spec's digest.
@Suite struct RunDigestTests {
    /// Plans a run over `count` files on worker processes, lets `tamper` change its stored state, then runs it.
    func runTampered(
        count: Int, _ tamper: (RunStateStore, RunSpec) async throws -> Void
    ) async throws -> (outcomes: Result<[String: FileOutcome<Int>], any Error>, run: MapRun<Int>) {
        let corpus = try Corpus.make(count: count)
        defer { corpus.remove() }
        let fanout = Fanout(options: RunOptions(backend: try TestWorker.backend(workers: 1), retries: 0))
        let run = try await fanout.map(TestSteps.byteCount, over: Input(corpus.path))
        try await tamper(run.prepared.state, run.prepared.spec)
        do {
            return (.success(try await collect(run)), run)
        } catch {
            return (.failure(error), run)
        }
    }

    @Test func aWorkerRefusesASpecChangedAfterTheRunBegan() async throws {
        let (outcomes, _) = try await runTampered(count: 3) { state, spec in
            var changed = spec
            changed.input = "/etc/"
            try await state.write(changed, to: state.layout.spec)
        }
        #expect(throws: RunError.self) { try outcomes.get() }
        let message = "\((try? outcomes.get()).map { "\($0)" } ?? "\(outcomes)")"
        #expect(message.contains("is not the one this run was started with"), "\(message)")
    }

    @Test func aWorkerRefusesAShardPlanChangedAfterTheRunBegan() async throws {
        let (outcomes, _) = try await runTampered(count: 3) { state, _ in
            // Shard 0's line changed in place, the part's header left as it was.
            let key = state.layout.planPart(0)
            var text = String(decoding: try await state.readBytes(key), as: UTF8.self)
            let name = try #require(text.range(of: "f00000.txt"))
            text.replaceSubrange(name, with: "f00009.txt")
            try await state.store.put(key: key, data: Data(text.utf8), options: PutOptions())
        }
        let message = "\(outcomes)"
        #expect(throws: RunError.self) { try outcomes.get() }
        #expect(message.contains("plan of shard 0"), "\(message)")
    }

    @Test func anUntouchedRunPassesItsWorkersChecks() async throws {
        let (outcomes, run) = try await runTampered(count: 5) { _, _ in }
        #expect(try outcomes.get().mapValues { $0.value } == Corpus.expectedSizes(count: 5).mapValues { $0 })
        #expect(run.digest.count == 64)
    }

    @Test func reattachingWithTheDigestRefusesAChangedSpec() async throws {
        let corpus = try Corpus.make(count: 2)
        defer { corpus.remove() }
        let fanout = Fanout(options: RunOptions(state: corpus.state))
        let run = try await fanout.map(TestSteps.byteCount, over: Input(corpus.path))
        let state = run.prepared.state
        var changed = run.prepared.spec
        changed.input = "/etc/"
        try await state.write(changed, to: state.layout.spec)
        let error = await #expect(throws: RunError.self) {
            try await fanout.attach(TestSteps.byteCount, runID: run.id, state: corpus.state, digest: run.digest)
        }
        #expect(error?.code == .tamperedState)
        // Another version of the step cannot attach either.
        let other = MapStep("byte-count", version: "other") { file in try await file.bytes().count }
        let version = await #expect(throws: RunError.self) {
            try await fanout.attach(other, runID: run.id, state: corpus.state)
        }
        #expect(version?.message.contains("version") == true, "\(String(describing: version))")
    }
}
