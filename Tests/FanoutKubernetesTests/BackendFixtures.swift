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

/// What a run told its caller (``RunOptions/onEvent``): the Kubernetes backend's own events in ``all``, and every
/// event in ``runEvents``. Tests await events as they arrive.
final class EventLog: Sendable {
    private struct State {
        var events: [KubernetesBackendEvent] = []
        var runEvents: [RunEvent] = []
        var waiters: [(id: Int, predicate: @Sendable (KubernetesBackendEvent) -> Bool,
            continuation: CheckedContinuation<KubernetesBackendEvent?, Never>)] = []
        var nextWaiter = 0
    }

    private let state = Mutex(State())

    /// The backend's events, in order.
    var all: [KubernetesBackendEvent] { state.withLock { $0.events } }

    var runEvents: [RunEvent] { state.withLock { $0.runEvents } }

    /// The observer to give ``RunOptions/onEvent``.
    var observer: @Sendable (RunEvent) -> Void { { [self] in record($0) } }

    func record(_ event: RunEvent) {
        let woken = state.withLock { state -> [(CheckedContinuation<KubernetesBackendEvent?, Never>, KubernetesBackendEvent)] in
            state.runEvents.append(event)
            guard case .backend(let detail) = event, let backendEvent = detail as? KubernetesBackendEvent else {
                return []
            }
            state.events.append(backendEvent)
            let matched = state.waiters.filter { $0.predicate(backendEvent) }
            state.waiters.removeAll { $0.predicate(backendEvent) }
            return matched.map { ($0.continuation, backendEvent) }
        }
        for (continuation, backendEvent) in woken { continuation.resume(returning: backendEvent) }
    }

    var notices: [String] { runEvents.compactMap { if case .notice(let text) = $0 { text } else { nil } } }

    var workerCounts: [(running: Int, pending: Int)] {
        runEvents.compactMap { if case .workers(let running, let pending) = $0 { (running, pending) } else { nil } }
    }

    /// Waits until an event matching `predicate` arrives (or has arrived) and returns it.
    func wait(
        _ timeout: Duration = .seconds(60), for what: String,
        _ predicate: @escaping @Sendable (KubernetesBackendEvent) -> Bool
    ) async throws -> KubernetesBackendEvent {
        let found = await withCheckedContinuation { (continuation: CheckedContinuation<KubernetesBackendEvent?, Never>) in
            let id = state.withLock { state -> Int? in
                if let event = state.events.first(where: predicate) {
                    continuation.resume(returning: event)
                    return nil
                }
                state.nextWaiter += 1
                state.waiters.append((state.nextWaiter, predicate, continuation))
                return state.nextWaiter
            }
            guard let id else { return }
            Task {
                try? await Task.sleep(for: timeout)
                let expired = state.withLock { state in
                    let waiter = state.waiters.first { $0.id == id }
                    state.waiters.removeAll { $0.id == id }
                    return waiter
                }
                expired?.continuation.resume(returning: nil)
            }
        }
        guard let found else {
            Issue.record("no \(what) event within \(timeout); events: \(all)")
            throw CancellationError()
        }
        return found
    }
}

/// Backend options for the test server: the test worker shipped from the state store, no arguments, quick
/// timeouts. The test server's pods are processes on this machine, so they read local folders.
func testOptions(namespace: String) throws -> KubernetesBackend.Options {
    var options = KubernetesBackend.Options()
    options.namespace = namespace
    options.podsShareLocalFiles = true
    options.executable = try WorkerBinary.path
    options.arguments = []
    options.filesInFlight = 4
    options.cleanupTimeout = .seconds(30)
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
