@testable import FanoutStorage
import Foundation
import Synchronization
import Testing
@testable import FanoutCore

/// A look at a run's state lists only the shards still open: its requests do not grow with the shards already
/// finished, nor with a slow shard near the start.
struct OpenShardRangesTests {
    @Test func openShardsBecomeRangesAndShortGapsAreJoined() {
        #expect(OpenShardRanges.of(count: 10, closed: []) == [0...9])
        #expect(OpenShardRanges.of(count: 10, closed: Set(0..<10)) == [])
        #expect(OpenShardRanges.of(count: 1000, closed: Set(1..<990), mergeGap: 64) == [0...0, 990...999])
        #expect(OpenShardRanges.of(count: 100, closed: Set(1..<50), mergeGap: 64) == [0...99], "a gap of 49 is listed across")
        #expect(OpenShardRanges.of(count: 10, closed: [], firstOpen: 4) == [4...9])
    }

    /// A slow shard 0 and every other shard but the last ten committed: each look costs the same few list
    /// requests with 200 shards as with 2,000, and reads only the open shards' keys.
    @Test func aLookCostsTheSameHoweverManyShardsHaveFinished() async throws {
        var requests: [Int: Int] = [:]
        var before: [Int: Int] = [:]
        for count in [200, 2000] {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("looks-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            let counting = CountingStore(LocalObjectStore(root: folder))
            let state = RunStateStore(store: counting, layout: RunStateLayout(root: "", runID: "r"))
            for shard in 1..<count {
                let segment = state.layout.segment(shard: shard, attempt: 1, token: "t", sequence: 0)
                try await state.writeSegment([.failure(file: .init(ordinal: shard, key: "k", size: 1, etag: "e", modified: 0),
                    attempt: 1, seconds: 0, message: "m")], to: segment)
                if shard < count - 10 {
                    try await state.write(ShardCommit(shard: shard, attempt: 1, files: 1, committedAt: Date()),
                        to: state.layout.commit(shard: shard))
                }
            }
            let ranges = OpenShardRanges.of(count: count, closed: Set(1..<(count - 10)))
            counting.reset()
            let committed = try await state.committedShards(in: ranges)
            let keys = try await state.segmentKeys(in: ranges, carried: false)
            requests[count] = counting.counts.withLock { $0.pages }
            #expect(committed.isEmpty, "shards 0 and the last ten have not committed")
            #expect(keys.compactMap { state.layout.shard(ofKey: $0) } == Array((count - 10)..<count), "\(keys)")

            // Listing everything after the first open shard (here all of it), as a look did before, grows with the run.
            counting.reset()
            _ = try await state.segmentKeys()
            _ = try await state.committedShards()
            before[count] = counting.counts.withLock { $0.pages }
        }
        #expect(requests[200] == requests[2000] && requests[200] == 4, "two ranges, two listings each: \(requests)")
        #expect(before[2000]! > before[200]!, "listing from the first open shard grows with the run: \(before)")
    }
}
