/// The shards whose new results a look at the run's state must read: those not yet closed (committed, and their
/// segments read since), as ascending ranges, so that a look lists only them and its requests do not grow with the
/// shards already finished, nor with a slow shard near the start.
///
/// Ranges closer than `mergeGap` shards are joined: listing across a short run of closed shards costs a few keys
/// of a page, less than another request.
enum OpenShardRanges {
    static func of(count: Int, closed: Set<Int>, firstOpen: Int = 0, mergeGap: Int = 64) -> [ClosedRange<Int>] {
        var ranges: [ClosedRange<Int>] = []
        var shard = max(0, firstOpen)
        while shard < count {
            guard !closed.contains(shard) else {
                shard += 1
                continue
            }
            var end = shard
            while end + 1 < count && !closed.contains(end + 1) { end += 1 }
            if let last = ranges.last, shard - last.upperBound - 1 < mergeGap {
                ranges[ranges.count - 1] = last.lowerBound...end
            } else {
                ranges.append(shard...end)
            }
            shard = end + 1
        }
        return ranges
    }
}
