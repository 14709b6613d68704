/// How a run went.
public struct RunSummary: Sendable, Hashable, Codable {
    public var runID: String
    public var files: Int
    public var succeeded: Int
    public var failed: Int
    /// Results reused from an earlier run.
    public var cached: Int
    /// Up to 100 failed files with their errors.
    public var failures: [FailedFile]
    public var shards: Int
    public var elapsedSeconds: Double
    /// Requests the backend made to its control plane (the Kubernetes API), when it has one.
    public var controlPlaneRequests: Int?
    /// What happened to each shard that did not simply succeed at its first attempt ("attempt 1 OOMKilled at
    /// 2Gi; attempt 2 succeeded at 4Gi", "backup attempt 2 succeeded"), by shard.
    public var shardHistories: [Int: String] = [:]

    public struct FailedFile: Sendable, Hashable, Codable {
        public var key: String
        public var message: String
    }
}
