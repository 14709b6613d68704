/// What a run would hand its backend, known before anything of it is stored: what `--dry-run` shows a backend's
/// objects for (``Backend/preview(_:)``).
public struct SubmissionPreview: Sendable, Hashable {
    /// The state prefix, as a location.
    public var stateLocation: String
    /// The input, as a location.
    public var inputLocation: String
    public var stepName: String
    /// The shards, each with its number of files.
    public var shardFileCounts: [Int: Int]
    /// Extra attempts per shard after failures.
    public var retries: Int
    /// Failed files the run tolerates.
    public var tolerance: FailureTolerance

    public init(
        stateLocation: String, inputLocation: String, stepName: String, shardFileCounts: [Int: Int], retries: Int,
        tolerance: FailureTolerance
    ) {
        self.stateLocation = stateLocation
        self.inputLocation = inputLocation
        self.stepName = stepName
        self.shardFileCounts = shardFileCounts
        self.retries = retries
        self.tolerance = tolerance
    }

    /// The shards, in order.
    public var shards: [Int] { shardFileCounts.keys.sorted() }
}
