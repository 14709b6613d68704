import Foundation

/// What a run did, for a person to look at (`fanout report`) or to plot: its attempts on a time axis, files done
/// over time, how long files took, the slowest and failed files, and its figures. Built by streaming the run's
/// stored results (``RunCatalog/report(_:slowest:failures:)``): its size grows with attempts and the run's
/// seconds, never with its files.
public struct RunReport: Sendable {
    public var info: RunCatalog.Info
    /// Every attempt the run's drivers launched, by shard and attempt.
    public var attempts: [AttemptRecord]
    /// Unix milliseconds of the run's time axis: its first attempt's launch, or its creation.
    public var start: Int64
    /// Unix milliseconds of the axis's end: the last attempt's end or the last file's.
    public var end: Int64
    /// Files computed in each second from ``start`` (cached files are not computed, and not counted here).
    public var filesPerSecond: [Int]
    /// Files computed, by how long the step took: bucket `i` counts durations below `2^i` ms (and at least
    /// `2^(i-1)` ms), bucket 0 those under a millisecond.
    public var durationHistogram: [Int]
    /// The slowest computed files, slowest first.
    public var slowest: [FileTiming]
    /// Failed files, in shard order (up to the limit asked for), and how many failed in all.
    public var failures: [RunCatalog.FailedFile]
    public var failedCount: Int
    /// Files computed, their bytes, and files whose results were reused from an earlier run.
    public var computed: Int
    public var bytes: Int64
    public var cached: Int

    /// A file and how long the step took on it.
    public struct FileTiming: Sendable, Hashable {
        public var key: String
        public var shard: Int?
        public var seconds: Double
    }

    /// Attempts that failed (or crashed) and were followed by another attempt of their shard: the retries used.
    public var retriesUsed: Int {
        let byShard = Dictionary(grouping: attempts, by: \.shard)
        return byShard.values.reduce(0) { total, attempts in
            let last = attempts.map(\.attempt).max() ?? 0
            return total + attempts.filter { ["failed", "crashed"].contains($0.outcome) && $0.attempt < last }.count
        }
    }

    /// Attempts by how they ended (`pending` for those the driver left before they ended).
    public var outcomes: [String: Int] {
        attempts.reduce(into: [:]) { $0[$1.outcome ?? "unfinished", default: 0] += 1 }
    }

    /// Workers running and waiting at each of `points` moments spread over the run.
    public func workers(points: Int) -> [(running: Int, pending: Int)] {
        let span = max(1, end - start)
        return (0..<max(1, points)).map { index in
            let moment = start + span * Int64(index) / Int64(max(1, points - 1))
            var running = 0
            var pending = 0
            for attempt in attempts {
                let finished = attempt.ended ?? end
                guard attempt.launched <= moment, moment < finished || (moment == end && finished == end) else {
                    continue
                }
                if let started = attempt.running, started <= moment { running += 1 } else { pending += 1 }
            }
            return (running, pending)
        }
    }
}
