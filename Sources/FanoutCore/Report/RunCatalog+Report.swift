import FanoutStorage
import Foundation

extension RunCatalog {
    /// What a run did, for ``RunReport``: its attempts as its drivers stored them, and its results read once,
    /// segment by segment, each file counted with its first stored outcome (the one the driver counts).
    /// - Parameters:
    ///   - slowest: how many of the slowest files to keep.
    ///   - failures: how many failed files to list (all are counted).
    /// - Throws: ``RunError`` with code ``RunError/Code/notFound`` for an unknown run; ``ObjectStoreError``.
    public func report(_ runID: String, slowest: Int = 10, failures: Int = 200) async throws -> RunReport {
        let info = try await info(runID)
        let state = RunStateStore(store: store, layout: RunStateLayout(root: root, runID: runID))
        var attempts: [AttemptRecord] = []
        for try await page in store.list(prefix: state.layout.attemptsPrefix).pages {
            for object in page.objects where object.key.hasSuffix(".json") {
                attempts += try await state.read([AttemptRecord].self, from: object.key)
            }
        }
        attempts.sort { ($0.shard, $0.attempt, $0.launched) < ($1.shard, $1.attempt, $1.launched) }

        let created = Int64((info.createdAt.timeIntervalSince1970 * 1000).rounded())
        let start = attempts.map(\.launched).min() ?? created
        var end = attempts.compactMap { $0.ended ?? $0.running }.max() ?? start
        var perSecond: [Int] = []
        var histogram: [Int] = []
        var slow = SlowestFiles(limit: slowest)
        var listed: [RunCatalog.FailedFile] = []
        var (computed, cached, failed) = (0, 0, 0)
        var bytes: Int64 = 0
        var seen = OrdinalSet()
        for key in try await state.segmentKeys() {
            let shard = state.layout.shard(ofKey: key)
            for record in try await state.readSegment(key) {
                let header = try RecordCoding.decoder.decode(RecordHeader.self, from: Data(record.bytes))
                guard seen.insert(header.o) else { continue }
                if let message = header.x {
                    failed += 1
                    if listed.count < failures {
                        listed.append(FailedFile(shard: shard, key: header.k, attempt: header.a, message: message))
                    }
                }
                guard shard != nil else {
                    cached += 1
                    continue
                }
                guard let started = header.t else { continue }
                computed += 1
                bytes += header.z ?? 0
                let finished = started + Int64((header.d * 1000).rounded())
                end = max(end, finished)
                let second = Int(max(0, finished - start) / 1000)
                if perSecond.count <= second { perSecond += Array(repeating: 0, count: second + 1 - perSecond.count) }
                perSecond[second] += 1
                let bucket = Self.durationBucket(seconds: header.d)
                if histogram.count <= bucket { histogram += Array(repeating: 0, count: bucket + 1 - histogram.count) }
                histogram[bucket] += 1
                slow.offer(RunReport.FileTiming(key: header.k, shard: shard, seconds: header.d))
            }
        }
        return RunReport(
            info: info, attempts: attempts, start: start, end: max(end, start), filesPerSecond: perSecond,
            durationHistogram: histogram, slowest: slow.files,
            failures: listed.sorted { ($0.shard ?? -1, $0.key) < ($1.shard ?? -1, $1.key) }, failedCount: failed,
            computed: computed, bytes: bytes, cached: cached)
    }

    /// Bucket `i` holds durations below `2^i` ms and at least `2^(i-1)` ms; bucket 0 those under 1 ms.
    static func durationBucket(seconds: Double) -> Int {
        let millis = seconds * 1000
        guard millis >= 1 else { return 0 }
        return Int(log2(millis).rounded(.down)) + 1
    }
}

/// The `limit` slowest files seen, kept without holding the others.
private struct SlowestFiles {
    let limit: Int
    private(set) var files: [RunReport.FileTiming] = []

    init(limit: Int) { self.limit = max(0, limit) }

    mutating func offer(_ file: RunReport.FileTiming) {
        guard limit > 0 else { return }
        if files.count == limit {
            guard let fastest = files.last, file.seconds > fastest.seconds else { return }
            files.removeLast()
        }
        let index = files.firstIndex { $0.seconds < file.seconds } ?? files.count
        files.insert(file, at: index)
    }
}
