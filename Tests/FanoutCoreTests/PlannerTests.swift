import Testing
@testable import FanoutCore

@Suite struct PlannerTests {
    func files(_ sizes: [Int64]) -> [PlannedFile] {
        sizes.enumerated().map { PlannedFile(ordinal: $0.offset, key: "k\($0.offset)", size: $0.element, etag: "e", modified: 0) }
    }

    @Test func sameFilesGiveTheSamePlan() {
        let input = files((0..<500).map { Int64(($0 * 7919) % 1000) })
        let a = Planner.plan(files: input, sharding: .shards(7))
        let b = Planner.plan(files: input, sharding: .shards(7))
        #expect(a.shards == b.shards)
        #expect(a.fileCount == 500)
        #expect(Set(a.shards.flatMap { $0.files.map(\.ordinal) }) == Set(0..<500))
    }

    @Test func aHugeFileGetsAShardOfItsOwn() {
        let plan = Planner.plan(files: files([1_000_000] + Array(repeating: 10, count: 99)), sharding: .shards(4))
        let huge = plan.shards.first { $0.files.contains { $0.ordinal == 0 } }!
        #expect(huge.files.count == 1)
        let others = plan.shards.filter { $0.index != huge.index }.map(\.bytes)
        #expect(others.max()! - others.min()! <= 10)
        #expect(plan.largestShard?.index == huge.index)
    }

    @Test func shardCountFollowsTheStrategy() {
        let input = files(Array(repeating: 100, count: 1000))
        #expect(Planner.plan(files: input, sharding: .filesPerShard(64)).shards.count == 16)
        #expect(Planner.plan(files: input, sharding: .bytesPerShard(10_000)).shards.count == 10)
        #expect(Planner.plan(files: input, sharding: .shards(5000)).shards.count == 1000)
        #expect(Planner.plan(files: [], sharding: .shards(3)).shards.isEmpty)
        // "One shard, however many": no overflow near the largest values.
        #expect(Planner.plan(files: input, sharding: .filesPerShard(.max)).shards.count == 1)
        #expect(Planner.plan(files: input, sharding: .bytesPerShard(.max)).shards.count == 1)
        #expect(Planner.plan(files: input, sharding: .filesPerShard(999)).shards.count == 2)
    }

    @Test func aBatchingDelayIsNeverZero() {
        #expect(SegmentBatching(maxDelay: .zero).maxDelay == .milliseconds(10))
        #expect(SegmentBatching(maxDelay: .seconds(3)).maxDelay == .seconds(3))
    }

    @Test func filesInAShardAreInOrdinalOrder() {
        // Sizes that do not follow the ordinals, so the largest-first placement mixes them up.
        let plan = Planner.plan(files: files((0..<100).map { Int64(($0 * 37) % 100 + 1) }), sharding: .shards(3))
        #expect(plan.shards.count == 3)
        for shard in plan.shards {
            #expect(shard.files.map(\.ordinal) == shard.files.map(\.ordinal).sorted())
        }
    }
}

extension PlannerTests {
    @Test func automaticShardingFollowsWhereShardsRun() {
        let workers = BackendCapabilities(slots: 2)
        let inProcess = BackendCapabilities(slots: 2, handsRecordsOver: true)
        #expect(Sharding.automatic.resolved(files: 20_000, backend: workers) == .filesPerShard(256))
        // In process: four shards a slot, 256 to 10,000 files each.
        #expect(Sharding.automatic.resolved(files: 20_000, backend: inProcess) == .filesPerShard(2_500))
        #expect(Sharding.automatic.resolved(files: 300, backend: inProcess) == .filesPerShard(256))
        #expect(Sharding.automatic.resolved(files: 1_000_000, backend: inProcess) == .filesPerShard(10_000))
        #expect(Sharding.shards(3).resolved(files: 20_000, backend: inProcess) == .shards(3))
        #expect(Planner.plan(files: files(Array(repeating: 1, count: 20_000)), sharding: .automatic).shards.count == 79)
    }
}
