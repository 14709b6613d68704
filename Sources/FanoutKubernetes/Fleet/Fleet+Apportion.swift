extension Fleet {
    /// Shares `shards` among placements in proportion to each cluster's capacity × weight, by largest remainders.
    ///
    /// Each share is the proportional quota rounded down or up, so it differs from the quota by less than one;
    /// the shares sum to `shards`. Capacity bounds pods at once, not shards, so shards beyond the total capacity
    /// are still shared in proportion. A cluster with capacity 0 gets none; when no placement has capacity and
    /// weight above 0 (``placements(for:)`` never returns such a list), every share is 0. Ties go to the earlier
    /// placement, so the result depends only on the arguments.
    /// - Parameters:
    ///   - shards: The number of shards to share, 0 or more.
    ///   - placements: The clusters to share them among.
    /// - Returns: One share per placement, in the same order.
    public static func apportion(_ shards: Int, over placements: [FleetPlacement]) -> [Int] {
        precondition(shards >= 0, "a number of shards is 0 or more")
        let weights = placements.map { placement in
            let weight = Double(max(placement.cluster.capacity, 0)) * placement.cluster.weight
            return weight.isFinite && weight > 0 ? weight : 0
        }
        let total = weights.reduce(0, +)
        guard total > 0, total.isFinite else { return Array(repeating: 0, count: placements.count) }
        let quotas = weights.map { Double(shards) * $0 / total }
        var shares = quotas.map { Int($0.rounded(.down)) }
        let remainders = quotas.indices.map { quotas[$0] - Double(shares[$0]) }
        // The candidates for one more shard: those with weight, largest remainder first, then in order.
        let byRemainder = quotas.indices.filter { weights[$0] > 0 }
            .sorted { (remainders[$0], -$0) > (remainders[$1], -$1) }
        var missing = shards - shares.reduce(0, +)
        var next = 0
        while missing > 0 {
            shares[byRemainder[next % byRemainder.count]] += 1
            missing -= 1
            next += 1
        }
        // Rounding in floating point may overshoot by a shard: take it back from the smallest remainders.
        next = byRemainder.count - 1
        while missing < 0 {
            let index = byRemainder[(next % byRemainder.count + byRemainder.count) % byRemainder.count]
            if shares[index] > 0 {
                shares[index] -= 1
                missing += 1
            }
            next -= 1
        }
        return shares
    }
}
