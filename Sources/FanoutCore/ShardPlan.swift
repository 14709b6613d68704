/// How to cut a run's files into shards: the unit a worker process or pod runs.
public enum Sharding: Sendable, Hashable, Codable {
    /// Exactly this many shards (fewer if there are fewer files).
    case shards(Int)
    /// As many shards as it takes to hold at most about this many files each.
    case filesPerShard(Int)
    /// As many shards as it takes to hold about this many bytes each.
    case bytesPerShard(Int64)
    /// Chosen for the backend (``resolved(files:backend:)``): 256 files a shard where workers are processes or
    /// pods; where shards run in the caller's process, four shards a slot of 256 to 10,000 files each, since a
    /// shard there costs its state objects and buys no isolation.
    case automatic

    /// What ``automatic`` means for a run of `files` files on `backend`; any other sharding as it is.
    public func resolved(files: Int, backend: BackendCapabilities) -> Sharding {
        guard case .automatic = self else { return self }
        guard backend.handsRecordsOver else { return .filesPerShard(256) }
        let perSlot = (files + backend.slots * 4 - 1) / (backend.slots * 4)
        return .filesPerShard(min(max(perSlot, 256), 10_000))
    }
}

/// A file as planned: its stable ordinal, and what identifies its content.
public struct PlannedFile: Sendable, Hashable, Codable {
    public var ordinal: Int
    public var key: String
    public var size: Int64
    public var etag: String
    /// Seconds since 1970 of the last modification.
    public var modified: Double

    public init(ordinal: Int, key: String, size: Int64, etag: String, modified: Double) {
        self.ordinal = ordinal
        self.key = key
        self.size = size
        self.etag = etag
        self.modified = modified
    }

    enum CodingKeys: String, CodingKey {
        case ordinal = "o", key = "k", size = "s", etag = "e", modified = "m"
    }
}

/// One shard: the files a single worker runs, in ordinal order.
public struct Shard: Sendable, Hashable, Codable {
    public var index: Int
    public var files: [PlannedFile]

    public var bytes: Int64 { files.reduce(0) { $0 + $1.size } }
}

/// A deterministic assignment of files to shards.
public struct ShardPlan: Sendable, Codable {
    public var shards: [Shard]

    public var fileCount: Int { shards.reduce(0) { $0 + $1.files.count } }
    public var byteCount: Int64 { shards.reduce(0) { $0 + $1.bytes } }
    /// The shard with the most bytes: the run's likely straggler.
    public var largestShard: Shard? { shards.max { ($0.bytes, -$0.index) < ($1.bytes, -$1.index) } }
}
