public import Foundation
public import FanoutStorage

/// The runs stored under a state prefix: what `fanout runs`, `status` and `gc` read.
public struct RunCatalog: Sendable {
    public let state: String
    let store: any ObjectStore
    let root: String

    /// The runs under `state`, a location as users type it, reached through `stores`.
    public init(state: String, stores: ObjectStores = ObjectStores()) throws {
        let location = try StorageLocation.parse(state)
        self.state = state
        self.store = try location.store(in: stores)
        self.root = location.prefix
    }

    /// What is known of one run from its stored state.
    public struct Info: Sendable, Codable {
        public var runID: String
        public var step: String
        public var stepVersion: String
        public var input: String
        public var backend: String
        public var createdAt: Date
        public var files: Int
        public var shards: Int
        public var committedShards: Int
        /// `complete` (every file has an outcome, failures within the run's tolerance), `failed` (more files failed
        /// than it tolerated), `incomplete` (ended with failed shards), or `unfinished` (running, or its driver
        /// stopped).
        public var status: String
        public var succeeded: Int?
        public var failed: Int?
        public var cached: Int?
        public var finishedAt: Date?
        /// What the step was given, when it recorded it (a `fanout run` command, for instance).
        public var stepParameters: String?
        /// Where the backend ran the workers: for Kubernetes, `namespace` and `context`.
        public var placement: [String: String]?
        /// The settings the run was started with (``RunOptions/recordedSettings``), if any were recorded.
        public var settings: [String]?
        /// The driver that holds the run now (`host pid 1234`), while its lease is live; `nil` when none does.
        public var driver: String?
        /// When the live driver's lease runs out unless renewed.
        public var driverLeaseExpiresAt: Date?
        /// What happened to each shard that did not simply succeed at its first attempt, once the run finished;
        /// keyed by the shard's index as text, so it stays an object in JSON.
        public var shardHistories: [String: String]?
        /// Requests the run made to its backend's control plane (the Kubernetes API), once it finished.
        public var apiRequests: Int?
        /// The clusters a fleet run dropped and that no command has cleaned up since (``lostPlaces(_:)``).
        public var lostPlaces: [LostPlaceRecord]?
    }

    /// Every run id under the prefix, newest first.
    public func runIDs() async throws -> [String] {
        let layout = RunStateLayout(root: root, runID: "")
        let pages = store.list(prefix: layout.runsPrefix, options: ListOptions(delimiter: "/")).pages
        var ids: [String] = []
        for try await page in pages {
            ids += page.commonPrefixes.map { String($0.dropFirst(layout.runsPrefix.count).dropLast()) }
        }
        return ids.sorted(by: >)
    }

    public func info(_ runID: String) async throws -> Info {
        let state = RunStateStore(store: store, layout: RunStateLayout(root: root, runID: runID))
        let spec = try await state.readSpec()
        let committed = try await state.committedShards().count
        let summary = try? await state.read(RunSummaryRecord.self, from: state.layout.summary)
        let status = summary?.outcome ?? "unfinished"
        let lease = try? await state.read(RunLease.self, from: state.layout.lease)
        let live = lease.flatMap { $0.released != true && $0.expiresAt > Date() ? $0 : nil }
        let lost = spec.backend == "fleet" ? try await lostPlaces(runID) : []
        return Info(
            runID: runID, step: spec.step, stepVersion: spec.stepVersion, input: spec.input, backend: spec.backend,
            createdAt: spec.createdAt, files: spec.fileCount, shards: spec.shardCount, committedShards: committed,
            status: status, succeeded: summary?.succeeded, failed: summary?.failed, cached: summary?.cached,
            finishedAt: summary?.finishedAt, stepParameters: spec.stepParameters, placement: spec.placement,
            settings: spec.settings, driver: live?.holder, driverLeaseExpiresAt: live?.expiresAt,
            shardHistories: summary?.shards, apiRequests: summary?.apiRequests, lostPlaces: lost.isEmpty ? nil : lost)
    }

    /// Deletes every object of a run.
    public func delete(_ runID: String) async throws {
        let layout = RunStateLayout(root: root, runID: runID)
        var batch: [String] = []
        for try await object in store.list(prefix: layout.runPrefix) {
            batch.append(object.key)
            if batch.count == 1000 {
                try await store.delete(keys: batch)
                batch.removeAll()
            }
        }
        if !batch.isEmpty { try await store.delete(keys: batch) }
    }
}
