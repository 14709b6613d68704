import FanoutCore
import FanoutKubernetes
import Foundation
import Synchronization
import Testing

/// A temporary folder of small numbered input files, with a state prefix of its own beside it.
struct InputFolder {
    let root: URL

    /// `count` files `f00000.txt`... of `ordinal % 13 + 1` bytes each.
    static func make(count: Int) throws -> InputFolder {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fanout-k8s-input-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        for index in 0..<count {
            try Data(repeating: UInt8(ascii: "k"), count: index % 13 + 1)
                .write(to: root.appendingPathComponent(String(format: "f%05d.txt", index)))
        }
        return InputFolder(root: root)
    }

    var path: String { root.path + "/" }

    /// A state prefix beside the folder, for tests that look at the stored state.
    var state: String { root.path + "-state/" }

    static func expectedSizes(count: Int) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: (0..<count).map { (String(format: "f%05d.txt", $0), $0 % 13 + 1) })
    }

    func remove() {
        try? FileManager.default.removeItem(at: root)
        try? FileManager.default.removeItem(atPath: state)
    }
}

/// The `FanoutTestWorker` executable, built beside the test bundle: what the pods run.
enum WorkerBinary {
    static var path: String {
        get throws {
            var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            for _ in 0..<4 {
                let candidate = folder.appendingPathComponent("FanoutTestWorker")
                if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate.path }
                folder = folder.deletingLastPathComponent()
            }
            let built = FileManager.default.currentDirectoryPath + "/.build/debug/FanoutTestWorker"
            if FileManager.default.isExecutableFile(atPath: built) { return built }
            Issue.record("FanoutTestWorker is not built: run `swift build --build-tests` first")
            throw CancellationError()
        }
    }
}

/// Collects a backend's events and lets a test wait for one.
final class EventLog: Sendable {
    private let events = Mutex<[KubernetesBackendEvent]>([])

    var all: [KubernetesBackendEvent] { events.withLock { $0 } }

    func record(_ event: KubernetesBackendEvent) { events.withLock { $0.append(event) } }

    /// Waits until an event matching `predicate` has been recorded and returns it.
    func wait(
        _ timeout: Duration = .seconds(60), for what: String, _ predicate: (KubernetesBackendEvent) -> Bool
    ) async throws -> KubernetesBackendEvent {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let event = all.first(where: predicate) { return event }
            try await Task.sleep(for: .milliseconds(25))
        }
        Issue.record("no \(what) event within \(timeout); events: \(all)")
        throw CancellationError()
    }
}

/// What a run's backend reported to the caller (``RunOptions/onBackendEvent``).
final class BackendEventLog: Sendable {
    private let events = Mutex<[BackendEvent]>([])

    var all: [BackendEvent] { events.withLock { $0 } }

    func record(_ event: BackendEvent) { events.withLock { $0.append(event) } }

    var notices: [String] { all.compactMap { if case .notice(let text) = $0 { text } else { nil } } }

    var workerCounts: [(running: Int, pending: Int)] {
        all.compactMap { if case .workers(let running, let pending) = $0 { (running, pending) } else { nil } }
    }
}

/// Backend options for the test server: the test worker shipped from the state store, no arguments, quick
/// timeouts, events recorded in `log`. The test server's pods are processes on this machine, so they read local
/// folders.
func testOptions(namespace: String, log: EventLog) throws -> KubernetesBackend.Options {
    var options = KubernetesBackend.Options()
    options.namespace = namespace
    options.podsShareLocalFiles = true
    options.executable = try WorkerBinary.path
    options.arguments = []
    options.filesInFlight = 4
    options.cleanupTimeout = .seconds(30)
    options.onEvent = { log.record($0) }
    return options
}

/// Reads a run to its end, checking that no file appears twice.
func collectOutcomes<Output>(_ run: MapRun<Output>) async throws -> [String: FileOutcome<Output>] {
    var outcomes: [String: FileOutcome<Output>] = [:]
    for try await outcome in run {
        #expect(outcomes[outcome.key] == nil, "\(outcome.key) was reported twice")
        outcomes[outcome.key] = outcome
    }
    return outcomes
}

extension EventLog {
    /// The API requests of the finished run, from its `finished` event.
    var apiRequests: Int? {
        for event in all { if case .finished(_, let requests) = event { return requests } }
        return nil
    }

    var failedPods: [(pod: String, shard: Int?, reason: String, logTail: String)] {
        all.compactMap { event in
            if case .podFailed(let pod, let shard, let reason, let tail) = event { return (pod, shard, reason, tail) }
            return nil
        }
    }
}

/// The pods of a run, as the API lists them.
func runPods(_ client: KubernetesClient, _ runID: String) async throws -> [Pod] {
    try await client.list(Pod.self, labelSelector: "fanout.dev/run=\(runID)").items
}
