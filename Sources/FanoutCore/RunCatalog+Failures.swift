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
        let state = RunStateStore(store: store, layout: RunStateLayout(root: root, runID: runID))
        _ = try await state.readSpec()
        var seen = OrdinalSet()
        var failures: [FailedFile] = []
        for key in try await state.segmentKeys(shard: shard) {
            let shardOfKey = state.layout.shard(ofKey: key)
            for record in try await state.readSegment(key) {
                let header = try RecordCoding.decoder.decode(RecordHeader.self, from: Data(record.bytes))
                guard seen.insert(header.o), let message = header.x else { continue }
                failures.append(FailedFile(shard: shardOfKey, key: header.k, attempt: header.a, message: message))
            }
        }
        return failures.sorted { ($0.shard ?? -1, $0.key) < ($1.shard ?? -1, $1.key) }
    }
}
