import Foundation
import FanoutStorage

/// Reads and writes one run's state in its object store, following ``RunStateLayout``.
struct RunStateStore: Sendable {
    let store: any ObjectStore
    let layout: RunStateLayout

    func write<T: Encodable>(_ value: T, to key: String) async throws {
        try await store.put(key: key, data: try StateCoding.encode(value), options: PutOptions(contentType: "application/json"))
    }

    func read<T: Decodable>(_ type: T.Type, from key: String) async throws -> T {
        let data: Data
        do {
            data = try await store.get(key: key, range: nil)
        } catch let error as ObjectStoreError where error.code == .notFound {
            throw RunError(
                code: .notFound, message: "no run state at \(store.description)/\(key)", underlying: error)
        }
        return try StateCoding.decode(type, from: data, key: key)
    }

    func readSpec() async throws -> RunSpec { try await read(RunSpec.self, from: layout.spec) }

    func readShard(_ index: Int) async throws -> Shard { try await read(Shard.self, from: layout.plan(shard: index)) }

    /// Keys of every segment stored so far, optionally for one shard.
    func segmentKeys(shard: Int? = nil) async throws -> [String] {
        let prefix = shard.map { layout.segmentsPrefix(shard: $0) } ?? layout.segmentsPrefix
        return try await store.list(prefix: prefix).collect().map(\.key).filter { $0.hasSuffix(".jsonl") }
    }

    /// Keys of the segments of shards numbered `first` and above; with `first` 0, carried segments too.
    func segmentKeys(fromShard first: Int) async throws -> [String] {
        let options = ListOptions(startAfter: first == 0 ? nil : layout.segmentsPrefix + "shard-" + RunStateLayout.pad(first))
        return try await store.list(prefix: layout.segmentsPrefix, options: options).collect().map(\.key)
            .filter { $0.hasSuffix(".jsonl") }
    }

    /// The shards that have committed, of those numbered `first` and above.
    func committedShards(fromShard first: Int = 0) async throws -> Set<Int> {
        let options = ListOptions(startAfter: first == 0 ? nil : layout.commitsPrefix + "shard-" + RunStateLayout.pad(first))
        var shards = Set<Int>()
        for try await object in store.list(prefix: layout.commitsPrefix, options: options) {
            if let shard = layout.shard(ofKey: object.key) { shards.insert(shard) }
        }
        return shards
    }

    /// Whether `shard` has committed.
    func isCommitted(_ shard: Int) async throws -> Bool {
        do {
            _ = try await store.head(key: layout.commit(shard: shard))
            return true
        } catch let error as ObjectStoreError where error.code == .notFound {
            return false
        }
    }

    func readSegment(_ key: String) async throws -> [RecordLine] {
        try Segment.decode(try await store.get(key: key, range: nil), key: key)
    }

    func writeSegment(_ records: [RecordLine], to key: String) async throws {
        try await store.put(key: key, data: Segment.encode(records), options: PutOptions(contentType: "application/x-ndjson"))
    }
}
