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
        try StateCoding.decode(type, from: try await readBytes(key), key: key)
    }

    /// An object's stored bytes, whole or in a range, for values whose digest is checked.
    func readBytes(_ key: String, range: ClosedRange<Int64>? = nil) async throws -> Data {
        do {
            return try await store.get(key: key, range: range)
        } catch let error as ObjectStoreError where error.code == .notFound {
            throw RunError(
                code: .notFound, message: "no run state at \(store.description)/\(key)", underlying: error)
        }
    }

    func readSpec() async throws -> RunSpec { try decodeSpec(try await readBytes(layout.spec)) }

    /// The spec and the ``RunDigest`` of its stored bytes; with `expected`, only if they hash to it.
    func readSpec(expectedDigest expected: String?) async throws -> (spec: RunSpec, digest: String) {
        let bytes = try await readBytes(layout.spec)
        if let expected { try RunDigest.check(bytes, key: layout.spec, expected: expected, what: "run spec") }
        return (try decodeSpec(bytes), RunDigest.of(bytes))
    }

    /// A stored spec, refused when a later version of Fanout wrote it in a format this one cannot follow.
    private func decodeSpec(_ bytes: Data) throws -> RunSpec {
        let spec = try StateCoding.decode(RunSpec.self, from: bytes, key: layout.spec)
        guard spec.format <= RunSpec.currentFormat else {
            throw RunError(
                code: .invalidInput,
                message: "run \(layout.runID) was stored by a later version of Fanout (state format \(spec.format); "
                    + "this one reads up to \(RunSpec.currentFormat)): use that version or a later one")
        }
        return spec
    }

    /// A shard's plan in a run stored with an object per shard (spec format 1), checked against `digests` (by shard
    /// index) when given.
    func readShard(_ index: Int, digests: [String]?) async throws -> Shard {
        let key = layout.plan(shard: index)
        let bytes = try await readBytes(key)
        if let digests {
            guard digests.indices.contains(index) else {
                throw RunError(code: .tamperedState, message: "run \(layout.runID) has no shard \(index)")
            }
            try RunDigest.check(bytes, key: key, expected: digests[index], what: "plan of shard \(index)")
        }
        return try StateCoding.decode(Shard.self, from: bytes, key: key)
    }

    /// Keys of every segment stored so far, optionally for one shard.
    func segmentKeys(shard: Int? = nil) async throws -> [String] {
        let prefix = shard.map { layout.segmentsPrefix(shard: $0) } ?? layout.segmentsPrefix
        return try await store.list(prefix: prefix).collect().map(\.key).filter { $0.hasSuffix(".jsonl") }
    }

    /// Keys of the segments of the shards in `ranges` (ascending, disjoint), with the carried segments when
    /// `carried`: a listing per range, each ending at the range's last shard.
    func segmentKeys(in ranges: [ClosedRange<Int>], carried: Bool) async throws -> [String] {
        var keys: [String] = []
        if carried { keys += try await store.list(prefix: layout.carriedPrefix).collect().map(\.key) }
        for range in ranges { keys += try await self.keys(ofShards: range, under: layout.segmentsPrefix) }
        return keys.filter { $0.hasSuffix(".jsonl") }
    }

    /// The shards in `ranges` (ascending, disjoint) that have committed: a listing per range.
    func committedShards(in ranges: [ClosedRange<Int>]) async throws -> Set<Int> {
        var shards = Set<Int>()
        for range in ranges {
            for key in try await keys(ofShards: range, under: layout.commitsPrefix) {
                if let shard = layout.shard(ofKey: key) { shards.insert(shard) }
            }
        }
        return shards
    }

    /// The keys under `prefix` (the segments' or the commits') of the shards in `range`, in key order: the listing
    /// starts at the range's first shard and stops at the first key past its last.
    private func keys(ofShards range: ClosedRange<Int>, under prefix: String) async throws -> [String] {
        // Every key of shard N (`shard-00000N/...`, `shard-00000N.json`) sorts after `shard-00000N`, and before
        // `shard-00000M` for any M above N: the shard number has a fixed width.
        let start = range.lowerBound == 0 ? nil : prefix + "shard-" + RunStateLayout.pad(range.lowerBound)
        let end = prefix + "shard-" + RunStateLayout.pad(range.upperBound + 1)
        var keys: [String] = []
        for try await page in store.list(prefix: prefix, options: ListOptions(startAfter: start)).pages {
            for object in page.objects {
                guard object.key < end else { return keys }
                if object.key.hasPrefix(prefix + "shard-") { keys.append(object.key) }
            }
        }
        return keys
    }

    /// Every shard that has committed.
    func committedShards() async throws -> Set<Int> {
        var shards = Set<Int>()
        for try await object in store.list(prefix: layout.commitsPrefix) {
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
