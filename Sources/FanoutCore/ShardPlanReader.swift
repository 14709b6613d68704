import Foundation
import Synchronization

/// Reads a run's shard plans, each checked against what its spec records: the part indexes of a plan stored in
/// parts (``PlanPart``), or the digest of each shard's own plan object in runs stored before parts. Indexes read once
/// are kept, so a driver that reads many shards of a part reads its index once.
final class ShardPlanReader: Sendable {
    enum Index: Sendable {
        /// One object per shard (`plan/shard-N.json`), with its digest when the spec records digests.
        case perShard(digests: [String]?)
        /// Parts of ``PlanPart/shardsPerPart`` shards.
        case parts([PlanPartRecord])
    }

    let state: RunStateStore
    let index: Index
    private let indexes = Mutex<[Int: [PlanSlice]]>([:])

    init(state: RunStateStore, index: Index) {
        self.state = state
        self.index = index
    }

    convenience init(state: RunStateStore, spec: RunSpec) {
        self.init(state: state, index: spec.planParts.map { .parts($0) } ?? .perShard(digests: spec.shardDigests))
    }

    /// Shard `shard`'s plan.
    /// - Throws: ``RunError`` with code ``RunError/Code/tamperedState`` when what is stored is not what the spec
    ///   records.
    func shard(_ shard: Int) async throws -> Shard {
        switch index {
        case .perShard(let digests):
            return try await state.readShard(shard, digests: digests)
        case .parts:
            let (part, slice) = try await self.slice(of: shard)
            let key = state.layout.planPart(part)
            let start = Int64(slice.offset)
            let bytes = try await state.readBytes(key, range: start...(start + Int64(slice.length) - 1))
            try RunDigest.check(bytes, key: key, expected: slice.sha256, what: "plan of shard \(shard)")
            let decoded = try PlanLineReader.shard(from: bytes) ?? StateCoding.decode(Shard.self, from: bytes, key: key)
            guard decoded.index == shard else { throw tampered("the plan of shard \(shard) names shard \(decoded.index)") }
            return decoded
        }
    }

    /// How many files shard `shard` has: for a plan in parts, read from its part's index alone.
    func fileCount(_ shard: Int) async throws -> Int {
        switch index {
        case .perShard: return try await self.shard(shard).files.count
        case .parts: return try await slice(of: shard).slice.files
        }
    }

    private func slice(of shard: Int) async throws -> (part: Int, slice: PlanSlice) {
        let (part, position) = PlanPart.locate(shard)
        let slices = try await index(part)
        guard shard >= 0, slices.indices.contains(position) else { throw tampered("run has no shard \(shard)") }
        return (part, slices[position])
    }

    private func record(_ part: Int) throws -> PlanPartRecord {
        guard case .parts(let records) = index, part >= 0, records.indices.contains(part) else {
            throw tampered("run has no plan part \(part)")
        }
        return records[part]
    }

    private func index(_ part: Int) async throws -> [PlanSlice] {
        if let known = indexes.withLock({ $0[part] }) { return known }
        let record = try record(part)
        let key = state.layout.planPart(part)
        let start = Int64(record.indexOffset)
        let bytes = try await state.readBytes(key, range: start...(start + Int64(record.indexLength) - 1))
        try RunDigest.check(bytes, key: key, expected: record.sha256, what: "plan index of part \(part)")
        let slices = try StateCoding.decode([PlanSlice].self, from: bytes, key: key)
        indexes.withLock { $0[part] = slices }
        return slices
    }

    private func tampered(_ what: String) -> RunError {
        RunError(code: .tamperedState, message: "run \(state.layout.runID): \(what)")
    }
}
