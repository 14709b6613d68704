/// A list of shard indexes written compactly, as Kubernetes writes completed indexes: `0-99,150,152-160`, in the
/// list's own order. An Indexed Job's pod runs the shard at its completion index in the list
/// (`FANOUT_WORKER_SHARDS`), so one Job can run any set of shards.
public struct ShardList: Sendable, Hashable, CustomStringConvertible {
    /// Runs of consecutive shards, in order.
    public private(set) var runs: [ClosedRange<Int>] = []

    public init(_ shards: some Sequence<Int>) {
        for shard in shards {
            if let last = runs.last, last.upperBound + 1 == shard {
                runs[runs.count - 1] = last.lowerBound...shard
            } else {
                runs.append(shard...shard)
            }
        }
    }

    /// Reads `0-99,150`; `nil` when the text is not such a list.
    public init?(parsing text: String) {
        guard !text.isEmpty else { return nil }
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let low = Int(bounds[0]), low >= 0,
                let high = bounds.count == 2 ? Int(bounds[1]) : low, high >= low
            else { return nil }
            runs.append(low...high)
        }
    }

    /// The shards in order.
    public var shards: [Int] { runs.flatMap { Array($0) } }

    public var count: Int { runs.reduce(0) { $0 + $1.count } }

    /// The shard at `position` (a completion index), if the list is that long.
    public subscript(position: Int) -> Int? {
        guard position >= 0 else { return nil }
        var rest = position
        for run in runs {
            if rest < run.count { return run.lowerBound + rest }
            rest -= run.count
        }
        return nil
    }

    public var description: String {
        runs.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
            .joined(separator: ",")
    }
}
