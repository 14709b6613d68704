import HeapModule

/// Builds shard plans.
///
/// Files get ordinals in key order. Shards are balanced by bytes with the greedy longest-processing-time rule:
/// files are taken largest first and each goes to the shard with the fewest bytes so far, so one huge file ends
/// up alone instead of making a straggler. Ties break on ordinals and shard indexes: the same files always give
/// the same plan.
public enum Planner {
    /// Plans `files`, which must be in key order (as listings are).
    public static func plan(files: [PlannedFile], sharding: Sharding) -> ShardPlan {
        let assignment = assign(sizes: files.map(\.size), sharding: sharding)
        var shards = assignment.fileCounts.indices.map { Shard(index: $0, files: []) }
        for (position, file) in files.enumerated() { shards[Int(assignment.shardOf[position])].files.append(file) }
        return ShardPlan(shards: shards)
    }

    /// The shard of each file, given only the files' sizes in key order: what ``plan(files:sharding:)`` decides,
    /// in 4 bytes a file, for plans too large to hold whole.
    static func assign(sizes: [Int64], sharding: Sharding) -> ShardAssignment {
        guard !sizes.isEmpty else { return ShardAssignment(shardOf: [], fileCounts: []) }
        let totalBytes = sizes.reduce(Int64(0), +)
        let count: Int
        switch sharding {
        case .shards(let shards):
            count = max(1, min(shards, sizes.count))
        case .filesPerShard(let perShard):
            count = max(1, ceilingDivision(sizes.count, max(perShard, 1)))
        case .automatic:
            return assign(sizes: sizes, sharding: .filesPerShard(256))
        case .bytesPerShard(let perShard):
            let byBytes = Int(ceilingDivision(totalBytes, max(perShard, 1)))
            count = max(1, min(sizes.count, byBytes))
        }

        struct Load: Comparable {
            var bytes: Int64
            var files: Int
            var index: Int
            static func < (a: Load, b: Load) -> Bool { (a.bytes, a.files, a.index) < (b.bytes, b.files, b.index) }
        }
        var heap = Heap((0..<count).map { Load(bytes: 0, files: 0, index: $0) })
        var shardOf = [Int32](repeating: 0, count: sizes.count)
        var fileCounts = [Int](repeating: 0, count: count)
        // Largest first; among equal sizes, the lower ordinal first.
        let largestFirst = (0..<Int32(sizes.count)).sorted { (a: Int32, b: Int32) -> Bool in
            let (sizeA, sizeB) = (sizes[Int(a)], sizes[Int(b)])
            return sizeA != sizeB ? sizeA > sizeB : a < b
        }
        for position in largestFirst {
            var lightest = heap.removeMin()
            shardOf[Int(position)] = Int32(lightest.index)
            fileCounts[lightest.index] += 1
            lightest.bytes += sizes[Int(position)]
            lightest.files += 1
            heap.insert(lightest)
        }
        return ShardAssignment(shardOf: shardOf, fileCounts: fileCounts)
    }
}

/// Which shard each file of a plan is in, by its position among the planned files, and each shard's file count.
struct ShardAssignment: Sendable {
    var shardOf: [Int32]
    var fileCounts: [Int]
}

/// `dividend / divisor` rounded up, without overflowing near the type's maximum.
private func ceilingDivision<T: BinaryInteger>(_ dividend: T, _ divisor: T) -> T {
    dividend / divisor + (dividend % divisor == 0 ? 0 : 1)
}
