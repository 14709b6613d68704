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
        guard !files.isEmpty else { return ShardPlan(shards: []) }
        let totalBytes = files.reduce(Int64(0)) { $0 + $1.size }
        let count: Int
        switch sharding {
        case .shards(let shards):
            count = max(1, min(shards, files.count))
        case .filesPerShard(let perShard):
            count = max(1, ceilingDivision(files.count, max(perShard, 1)))
        case .bytesPerShard(let perShard):
            let byBytes = Int(ceilingDivision(totalBytes, max(perShard, 1)))
            count = max(1, min(files.count, byBytes))
        }

        struct Load: Comparable {
            var bytes: Int64
            var files: Int
            var index: Int
            static func < (a: Load, b: Load) -> Bool { (a.bytes, a.files, a.index) < (b.bytes, b.files, b.index) }
        }
        var heap = Heap((0..<count).map { Load(bytes: 0, files: 0, index: $0) })
        var assigned = [[PlannedFile]](repeating: [], count: count)
        let largestFirst = files.sorted { ($0.size, -$0.ordinal) > ($1.size, -$1.ordinal) }
        for file in largestFirst {
            var lightest = heap.removeMin()
            assigned[lightest.index].append(file)
            lightest.bytes += file.size
            lightest.files += 1
            heap.insert(lightest)
        }
        let shards = assigned.enumerated().map { index, files in
            Shard(index: index, files: files.sorted { $0.ordinal < $1.ordinal })
        }
        return ShardPlan(shards: shards)
    }
}

/// `dividend / divisor` rounded up, without overflowing near the type's maximum.
private func ceilingDivision<T: BinaryInteger>(_ dividend: T, _ divisor: T) -> T {
    dividend / divisor + (dividend % divisor == 0 ? 0 : 1)
}
