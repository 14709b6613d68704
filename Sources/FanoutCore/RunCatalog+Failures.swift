import Foundation

extension RunCatalog {
    /// A file whose stored result is a failure: what `fanout logs` shows for runs without pods.
    public struct FailedFile: Sendable, Codable, Hashable {
        /// The shard that ran the file; `nil` for a result carried over from an earlier run.
        public var shard: Int?
        public var key: String
        public var attempt: Int
        /// The error, with the end of the command's standard error for `fanout run` commands.
        public var message: String
    }

    /// The failed files of a run, optionally of one shard, in shard order. Each file is listed once, with its
    /// first stored outcome (the one the driver counts); a file that failed and then succeeded is not listed.
    /// - Throws: ``RunError`` with code ``RunError/Code/notFound`` for an unknown run; ``ObjectStoreError``.
    public func failures(_ runID: String, shard: Int? = nil) async throws -> [FailedFile] {
        var failures: [FailedFile] = []
        try await forEachOutcome(of: runID, shard: shard) { shardOfKey, header in
            if let message = header.x {
                failures.append(FailedFile(shard: shardOfKey, key: header.k, attempt: header.a, message: message))
            }
        }
        return failures.sorted { ($0.shard ?? -1, $0.key) < ($1.shard ?? -1, $1.key) }
    }

    /// How far a run has come by what its workers stored: files with an outcome, and how many of those failed.
    /// Reads every stored segment, so it costs as much as the run's results; meant for unfinished runs.
    public func storedOutcomes(_ runID: String) async throws -> (done: Int, failed: Int) {
        var done = 0
        var failed = 0
        try await forEachOutcome(of: runID, shard: nil) { _, header in
            done += 1
            if header.x != nil { failed += 1 }
        }
        return (done, failed)
    }

    /// Calls `body` with the first stored outcome of each file (the one the driver counts), segment by segment.
    private func forEachOutcome(
        of runID: String, shard: Int?, _ body: (_ shard: Int?, _ header: RecordHeader) throws -> Void
    ) async throws {
        let state = RunStateStore(store: store, layout: RunStateLayout(root: root, runID: runID))
        _ = try await state.readSpec()
        var seen = OrdinalSet()
        for key in try await state.segmentKeys(shard: shard) {
            let shardOfKey = state.layout.shard(ofKey: key)
            for record in try await state.readSegment(key) {
                let header = try RecordCoding.decoder.decode(RecordHeader.self, from: Data(record.bytes))
                guard seen.insert(header.o) else { continue }
                try body(shardOfKey, header)
            }
        }
    }
}
