public import FanoutCore
import Synchronization

/// Runs one map across several Kubernetes clusters: each cluster is a place of the run's scheduler, with its
/// capacity as slots and its preference as weight, so shards are apportioned between them, each cluster runs its
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
        /// Pods Fanout may run there at once: the cluster's slots, and its Jobs' parallelism.
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

    /// Each cluster's namespace and context, by its name: `eks-spot.namespace`, `eks-spot.context`.
    public var placement: [String: String] {
        var placement: [String: String] = [:]
        for member in members {
            for (key, value) in member.backend.placement { placement["\(member.name).\(key)"] = value }
        }
        return placement
    }

    public var capabilities: BackendCapabilities {
        BackendCapabilities(slots: members.map(\.capacity).reduce(0, +), runsAttemptsSideBySide: true)
    }

    /// A place per cluster: its capacity as slots (so only its share of the shards is there at once, and the rest
    /// can still go anywhere), its weight times its capacity as its share.
    public var places: [BackendPlace] {
        members.map { member in
            var capabilities = member.backend.capabilities
            capabilities.slots = member.capacity
            return BackendPlace(
                name: member.name, capabilities: capabilities, weight: member.weight * Double(member.capacity))
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

    /// Serves each cluster's launches on its own backend, with a queue of its own, and passes every report on.
    public func serve(_ submission: Submission, attempts: AttemptQueue) async throws -> BackendReport {
        let queues = members.map { _ in AttemptQueue(reports: { attempts.report($0) }) }
        let placeOf = AttemptPlaces()
        return try await withThrowingTaskGroup(of: BackendReport?.self) { group in
            for (index, member) in members.enumerated() {
                group.addTask {
                    do {
                        return try await member.backend.serve(submission, attempts: queues[index])
                    } catch {
                        // One cluster that cannot work ends the run, as a single backend's would.
                        attempts.finish()
                        throw error
                    }
                }
            }
            group.addTask {
                for await request in attempts.requests {
                    switch request {
                    case .launch(let launches):
                        placeOf.places.withLock { places in for launch in launches { places[launch.id] = launch.place } }
                        for (place, launches) in Dictionary(grouping: launches, by: \.place) where queues.indices.contains(place) {
                            queues[place].send(.launch(launches))
                        }
                    case .cancel(let ids):
                        let byPlace = placeOf.places.withLock { places in Dictionary(grouping: ids) { places[$0] ?? 0 } }
                        for (place, ids) in byPlace where queues.indices.contains(place) {
                            queues[place].send(.cancel(ids))
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

/// Which cluster each attempt was sent to, so that its cancel goes there too.
private final class AttemptPlaces: Sendable {
    let places = Mutex<[AttemptID: Int]>([:])
}
