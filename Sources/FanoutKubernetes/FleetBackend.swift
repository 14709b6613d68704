public import FanoutCore
import Synchronization

/// Runs one map across several Kubernetes clusters: each cluster is a place of the run's scheduler, with its
/// capacity times its preference as its share, so shards are apportioned between them, each cluster runs its
/// share as Indexed Jobs of its own, and results come back through the one state prefix every cluster's pods reach.
/// When a cluster's pods wait past its pending timeout (no node for them: spot capacity that never comes), the
/// scheduler withdraws the shards not started there (their pods are deleted, which also frees that cluster's
/// autoscaler) and runs them on the others.
///
/// ```swift
/// let fleet = FleetBackend(members: [
///     .init(name: "eks-spot", backend: KubernetesBackend(options: spotOptions), capacity: 400, weight: 2),
///     .init(name: "gke-on-demand", backend: KubernetesBackend(options: gkeOptions), capacity: 100),
/// ])
/// let run = try await Fanout(options: RunOptions(backend: fleet, state: "s3://bucket/fanout-state/"))
///     .map(step, over: "s3://bucket/logs/")
/// ```
public struct FleetBackend: Backend {
    /// One cluster of the fleet.
    public struct Member: Sendable {
        public var name: String
        public var backend: KubernetesBackend
        /// Pods Fanout may run there at once: its Jobs' parallelism.
        public var capacity: Int
        /// Its share of the shards against the others' (with capacity). Default 1.
        public var weight: Double

        public init(name: String, backend: KubernetesBackend, capacity: Int, weight: Double = 1) {
            self.name = name
            self.backend = backend
            self.capacity = max(1, capacity)
            self.weight = weight > 0 ? weight : 1
        }
    }

    public var members: [Member]

    public init(members: [Member]) {
        precondition(!members.isEmpty, "a fleet needs a cluster")
        self.members = members.map { member in
            var member = member
            // The scheduler moves work away from Pending pods; a cluster waits on its own, and its Jobs run as many
            // pods at once as its capacity.
            member.backend.options.pendingPolicy = .wait
            member.backend.options.parallelism = member.capacity
            return member
        }
    }

    public var name: String { "fleet" }

    public var needsSharedState: Bool { members.contains { $0.backend.needsSharedState } }

    /// Each cluster's namespace, context and kubeconfig files, by its name (`eks-spot.namespace`,
    /// `eks-spot.context`, `eks-spot.kubeconfig` with `:` between files), so that `fanout cancel`, `logs` and
    /// `status` find the run's Jobs on every cluster.
    public var placement: [String: String] {
        var placement: [String: String] = [:]
        for member in members {
            for (key, value) in member.backend.placement { placement["\(member.name).\(key)"] = value }
            if let files = member.backend.options.kubeconfig, !files.isEmpty {
                placement["\(member.name).kubeconfig"] = files.joined(separator: ":")
            }
        }
        return placement
    }

    public var capabilities: BackendCapabilities {
        BackendCapabilities(slots: members.map(\.capacity).reduce(0, +), runsAttemptsSideBySide: true)
    }

    /// A place per cluster, with its weight times its capacity as its share: the scheduler launches every shard at
    /// once, shared out by those shares, so each cluster gets one Indexed Job for the run's first wave, and its Jobs'
    /// `parallelism` (its capacity) paces its pods. Shards not started there can still move.
    public var places: [BackendPlace] {
        members.map { member in
            BackendPlace(
                name: member.name, capabilities: member.backend.capabilities,
                weight: member.weight * Double(member.capacity))
        }
    }

    public func check() async throws {
        for member in members { try await member.backend.check() }
    }

    public func preview(_ submission: SubmissionPreview) throws -> String? {
        try members.compactMap { member in
            try member.backend.preview(submission).map { "# cluster \(member.name)\n" + $0 }
        }.joined(separator: "---\n")
    }

    /// Serves each cluster's launches on its own backend, with a queue of its own, and passes every report on. A
    /// cluster whose backend stops working (it no longer answers, its pods cannot start) is dropped from the run: the
    /// scheduler hears ``AttemptEvent/placeLost(place:reason:)``, each of its live attempts ends as disrupted (so its
    /// shard runs elsewhere, using no retry), and what is asked of it later is answered here. The run fails only
    /// when every cluster is gone.
    public func serve(_ submission: Submission, attempts: AttemptQueue) async throws -> BackendReport {
        let book = AttemptPlaces()
        let queues = members.map { _ in
            AttemptQueue(reports: { event in
                if case .exited(let id, _) = event { book.ended(id) }
                attempts.report(event)
            })
        }
        return try await withThrowingTaskGroup(of: BackendReport?.self) { group in
            for (index, member) in members.enumerated() {
                group.addTask {
                    do {
                        return try await member.backend.serve(submission, attempts: queues[index])
                    } catch {
                        if Task.isCancelled || error is CancellationError { throw error }
                        let reason = "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
                        let (left, everyone) = book.lose(index, count: members.count)
                        guard !everyone else {
                            // No cluster is left to run anything: the run ends with this cause.
                            attempts.finish()
                            throw error
                        }
                        attempts.report(.placeLost(place: index, reason: "\(member.name): \(reason)"))
                        for id in left {
                            attempts.report(.exited(id, .disrupted("\(member.name) stopped working: \(reason)")))
                        }
                        return BackendReport()
                    }
                }
            }
            group.addTask {
                for await request in attempts.requests {
                    switch request {
                    case .launch(let launches):
                        for (place, launches) in Dictionary(grouping: launches, by: \.place) where queues.indices.contains(place) {
                            if book.launch(launches.map(\.id), at: place) {
                                queues[place].send(.launch(launches))
                            } else {
                                for launch in launches {
                                    attempts.report(.exited(launch.id, .disrupted("\(members[place].name) is out of the run")))
                                }
                            }
                        }
                    case .cancel(let ids):
                        for (place, ids) in book.byPlace(ids) {
                            if book.isLost(place) {
                                for id in ids where book.ended(id) { attempts.report(.exited(id, .cancelled)) }
                            } else if queues.indices.contains(place) {
                                queues[place].send(.cancel(ids))
                            }
                        }
                    }
                }
                for queue in queues { queue.finish() }
                return nil
            }
            var total = BackendReport()
            while let report = try await group.next() {
                guard let report else { continue }
                if let requests = report.apiRequests { total.apiRequests = (total.apiRequests ?? 0) + requests }
            }
            return total
        }
    }
}

/// Where each live attempt was sent, and which clusters were dropped from the run.
private final class AttemptPlaces: Sendable {
    private struct State {
        var live: [AttemptID: Int] = [:]
        var lost = Set<Int>()
    }

    private let state = Mutex(State())

    /// Records attempts sent to `place`; `false` when that place is out of the run (nothing was recorded).
    func launch(_ ids: [AttemptID], at place: Int) -> Bool {
        state.withLock { state in
            guard !state.lost.contains(place) else { return false }
            for id in ids { state.live[id] = place }
            return true
        }
    }

    /// Forgets an attempt that ended; whether it was live.
    @discardableResult
    func ended(_ id: AttemptID) -> Bool {
        state.withLock { $0.live.removeValue(forKey: id) != nil }
    }

    /// Drops `place`: its live attempts (now ended here), and whether every place of `count` is gone.
    func lose(_ place: Int, count: Int) -> (live: [AttemptID], everyone: Bool) {
        state.withLock { state in
            state.lost.insert(place)
            let live = state.live.filter { $0.value == place }.map(\.key).sorted()
            for id in live { state.live[id] = nil }
            return (live, state.lost.count >= count)
        }
    }

    func isLost(_ place: Int) -> Bool { state.withLock { $0.lost.contains(place) } }

    /// The live ones of `ids` by place.
    func byPlace(_ ids: [AttemptID]) -> [Int: [AttemptID]] {
        state.withLock { state in
            Dictionary(grouping: ids.filter { state.live[$0] != nil }) { state.live[$0]! }
        }
    }
}
