import FanoutStorage
import Foundation
import Testing
@testable import FanoutCore

@Suite struct SegmentTests {
    let file = PlannedFile(ordinal: 3, key: "dir/a \"quoted\"\nkey\t±.txt", size: 1, etag: "x", modified: 0)

    func records() throws -> [RecordLine] {
        [
            .success(file: file, attempt: 1, seconds: 0.5, value: try RecordCoding.encodeValue(["n": 1])),
            .failure(file: file, attempt: 2, seconds: 0.1, message: "it \"broke\"\nbadly"),
        ]
    }

    @Test func roundTripsRecordsWithAwkwardText() throws {
        let data = Segment.encode(try records())
        let decoded = try Segment.decode(data, key: "s")
        #expect(decoded.map(\.bytes) == (try records()).map(\.bytes))
        let header = try JSONDecoder().decode(RecordHeader.self, from: Data(decoded[1].bytes))
        #expect(header.k == file.key)
        #expect(header.x == "it \"broke\"\nbadly")
        let typed = try JSONDecoder().decode(TypedRecord<[String: Int]>.self, from: Data(decoded[0].bytes))
        #expect(typed.v == ["n": 1])
    }

    @Test func truncatedSegmentIsCorrupt() throws {
        let data = Segment.encode(try records())
        let error = #expect(throws: RunError.self) { try Segment.decode(data.prefix(data.count - 20), key: "seg-1") }
        #expect(error?.code == .corruptState)
        #expect(error?.message.contains("seg-1") == true)
    }

    @Test func tamperedSegmentIsCorrupt() throws {
        var data = Segment.encode(try records())
        data[5] = UInt8(ascii: "9")
        let error = #expect(throws: RunError.self) { try Segment.decode(data, key: "seg-2") }
        #expect(error?.message.contains("checksum") == true)
    }

    @Test func renumberingKeepsTheRestOfTheRecord() throws {
        let line = try records()[0].renumbered(42)
        let header = try JSONDecoder().decode(RecordHeader.self, from: Data(line.bytes))
        #expect(header.o == 42)
        #expect(header.k == file.key)
        #expect(header.a == 1)
    }
}

@Suite struct RunStateLayoutTests {
    @Test func theShardOfAKeyIsReadBelowTheRunPrefixOnly() {
        // A state prefix that itself holds "shard-".
        let layout = RunStateLayout(root: "exp/shard-2/.fanout/", runID: "r1")
        #expect(layout.shard(ofKey: layout.commit(shard: 7)) == 7)
        #expect(layout.shard(ofKey: layout.segment(shard: 12, attempt: 1, token: "t", sequence: 3)) == 12)
        #expect(layout.shard(ofKey: layout.carried(sequence: 1)) == nil)
        #expect(layout.shard(ofKey: "elsewhere/commits/shard-000001.json") == nil)
        let tests = RunStateLayout(root: "shard-tests/", runID: "r2")
        #expect(tests.shard(ofKey: tests.commit(shard: 0)) == 0)
    }
}

@Suite struct RunStateStoreTests {
    @Test func listingsReadOnlyTheShardsAsked() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("state-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let state = RunStateStore(store: LocalObjectStore(root: root), layout: RunStateLayout(root: ".fanout/", runID: "r"))
        let file = PlannedFile(ordinal: 0, key: "k", size: 1, etag: "e", modified: 0)
        let record = RecordLine.failure(file: file, attempt: 1, seconds: 0, message: "x")
        try await state.writeSegment([record], to: state.layout.carried(sequence: 1))
        for shard in [0, 1, 2, 9, 10, 11] {
            try await state.writeSegment([record], to: state.layout.segment(shard: shard, attempt: 1, token: "t", sequence: 1))
            try await state.write(["shard": shard], to: state.layout.commit(shard: shard))
        }
        let all = try await state.segmentKeys(in: [0...11], carried: true)
        #expect(all.count == 7 && all.contains(state.layout.carried(sequence: 1)))
        let some = try await state.segmentKeys(in: [1...2, 10...10], carried: false).compactMap { state.layout.shard(ofKey: $0) }
        #expect(some == [1, 2, 10])
        #expect(try await state.committedShards(in: [0...0, 9...100]) == [0, 9, 10, 11])
        #expect(try await state.committedShards() == [0, 1, 2, 9, 10, 11])
    }
}
