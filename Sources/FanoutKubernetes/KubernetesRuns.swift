/// The runs a namespace holds, seen from the cluster: their Jobs, found by the labels every run's Jobs carry.
///
/// Costs one list request (paged) however many runs and pods there are; pods are never listed.
public struct KubernetesRuns: Sendable {
    let client: KubernetesClient
    public let namespace: String

    public init(client: KubernetesClient, namespace: String? = nil) {
        self.client = client
        self.namespace = namespace ?? client.namespace
    }

    /// One run's Jobs, summed up.
    public struct Run: Sendable, Hashable, Codable {
        /// The run id (as its label value).
        public var runID: String
        public var step: String?
        public var jobs: Int
        /// Pods running or waiting to run now, across the run's Jobs.
        public var activePods: Int
        /// Shards finished, and shards that failed for good, as the Jobs count them.
        public var succeededPods: Int
        public var failedPods: Int
        /// Every Job has finished (complete or failed).
        public var finished: Bool
        /// Some Job failed.
        public var failed: Bool
        /// When the first Job was created, RFC 3339.
        public var createdAt: String?

        /// `running`, `succeeded` or `failed`.
        public var status: String { !finished ? "running" : failed ? "failed" : "succeeded" }
    }

    /// The runs with Jobs in the namespace, newest first.
    public func list() async throws -> [Run] {
        let jobs = try await client.listAll(Job.self, namespace: namespace, labelSelector: KubernetesLabels.run).items
        var runs: [String: Run] = [:]
        for job in jobs {
            guard let runID = job.metadata.labels?[KubernetesLabels.run] else { continue }
            var run = runs[runID] ?? Run(
                runID: runID, step: job.metadata.labels?[KubernetesLabels.step], jobs: 0, activePods: 0,
                succeededPods: 0, failedPods: 0, finished: true, failed: false, createdAt: nil)
            run.jobs += 1
            run.activePods += job.status?.active ?? 0
            run.succeededPods += job.status?.succeeded ?? 0
            run.failedPods += job.status?.failed ?? 0
            run.finished = run.finished && job.isFinished
            run.failed = run.failed || job.failedCondition != nil
            if let created = job.metadata.creationTimestamp, run.createdAt.map({ created < $0 }) ?? true {
                run.createdAt = created
            }
            runs[runID] = run
        }
        return runs.values.sorted { ($0.createdAt ?? "", $0.runID) > ($1.createdAt ?? "", $1.runID) }
    }

    /// Deletes every Job of the run (their pods follow, by background propagation).
    /// - Returns: how many Jobs there were.
    @discardableResult
    public func delete(runID: String) async throws -> Int {
        let jobs = try await client.listAll(
            Job.self, namespace: namespace, labelSelector: KubernetesLabels.selector(runID: runID)).items
        for job in jobs {
            guard let name = job.metadata.name else { continue }
            try await client.delete(Job.self, name: name, namespace: namespace, propagationPolicy: .background)
        }
        return jobs.count
    }
}
