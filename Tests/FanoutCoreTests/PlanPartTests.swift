import FanoutStorage
import Foundation
import Synchronization
import Testing
import FanoutTestSteps
@testable import FanoutCore

/// A run's plan is stored in a part per thousand shards, and each shard is read back with two ranged reads, every
/// byte checked against the spec.
struct PlanPartTests {
    /// Prepares (stores, does not run) a run over `count` files in `count` shards of one file.
    func prepare(_ corpus: Corpus, count: Int) async throws -> PreparedRun {
        let fanout = Fanout(options: RunOptions(sharding: .shards(count), state: corpus.state))
        return try await RunPreparation(fanout: fanout, step: AnyMapStep(TestSteps.byteCount)).prepare(Input(corpus.path))
    }

    @Test func twoThousandFiveHundredShardsAreThreePartsReadBackExactly() async throws {
        let corpus = try Corpus.make(count: 2500)
        defer { corpus.remove() }
        let prepared = try await prepare(corpus, count: 2500)
        let plan = prepared.state.layout.planPrefix
        let stored = try await prepared.state.store.list(prefix: plan).collect().map(\.key)
        #expect(stored == [0, 1, 2].map { prepared.state.layout.planPart($0) }, "\(stored)")
        #expect(prepared.spec.planParts?.count == 3)
        #expect(prepared.spec.format == 2)

        let counting = CountingStore(LocalObjectStore(root: URL(fileURLWithPath: corpus.state)))
        let reader = ShardPlanReader(
            state: RunStateStore(store: counting, layout: prepared.state.layout), spec: prepared.spec)
        let files = try await RunPreparation.listFiles(
            input: Input(corpus.path), location: try StorageLocation.parse(corpus.path),
            store: LocalObjectStore(root: URL(fileURLWithPath: corpus.path)), excludingPrefix: "").all()
        let expected = Planner.plan(files: files, sharding: .shards(2500)).shards
        for index in [0, 999, 1000, 1234, 2499] {
            #expect(try await reader.shard(index) == expected[index])
        }
        // Five shards in three parts: an index per part, then a line per shard, all ranged.
        #expect(counting.counts.withLock { ($0.gets, $0.rangedGets) } == (8, 8))
        #expect(try await reader.fileCount(1500) == 1)
        #expect(counting.counts.withLock { $0.gets } == 8, "a count in a part already read comes from its index")
        await #expect(throws: RunError.self) { try await reader.shard(2500) }
    }

    /// Shards of more files than one pass makes at once are made over several passes, and read back exactly.
    @Test func largeShardsAreMadeInSeveralPasses() async throws {
        let listed = try ListedFiles()
        var files: [PlannedFile] = []
        for ordinal in 0..<(PlanPart.filesPerPass * 2 + 100) {
            let file = PlannedFile(
                ordinal: ordinal, key: "k/\(ordinal)", size: Int64(ordinal % 7), etag: "e\(ordinal)", modified: 1.5)
            try listed.append(key: file.key, size: file.size, etag: file.etag, modified: file.modified)
            files.append(file)
        }
        let assignment = Planner.assign(sizes: listed.sizes, sharding: .shards(3))
        let (output, path) = try ListedFiles.temporaryFile()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let record = try PlanPart.write(
            part: 0, listed: listed, shardOf: assignment.shardOf, fileCounts: assignment.fileCounts, to: output)
        try output.close()

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("plans-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let state = RunStateStore(store: LocalObjectStore(root: folder), layout: RunStateLayout(root: "", runID: "r"))
        _ = try await state.store.put(key: state.layout.planPart(0), file: URL(fileURLWithPath: path), options: PutOptions())
        let reader = ShardPlanReader(state: state, index: .parts([record]))
        let expected = Planner.plan(files: files, sharding: .shards(3)).shards
        for shard in 0..<3 { #expect(try await reader.shard(shard) == expected[shard]) }
    }

    @Test func aChangedHeaderOrLineIsRefusedNamingWhatChanged() async throws {
        let corpus = try Corpus.make(count: 3)
        defer { corpus.remove() }
        let prepared = try await prepare(corpus, count: 3)
        let state = prepared.state
        let key = state.layout.planPart(0)
        let original = String(decoding: try await state.readBytes(key), as: UTF8.self)

        // One shard's line names another file: that line's digest no longer holds, the others' do.
        let line = try #require(original.range(of: "f00002.txt"))
        try await state.store.put(
            key: key, data: Data(original.replacingCharacters(in: line, with: "f00009.txt").utf8), options: PutOptions())
        let reader = ShardPlanReader(state: state, spec: prepared.spec)
        var refused: [Int: RunError] = [:]
        for shard in 0..<3 {
            do { _ = try await reader.shard(shard) } catch let error as RunError { refused[shard] = error }
        }
        let (shard, lineError) = try #require(refused.first, "no shard was refused")
        #expect(refused.count == 1)
        #expect(lineError.code == .tamperedState)
        #expect(lineError.message.contains("plan of shard \(shard)"), "\(lineError)")

        // The index tells another file count: the index's digest in the spec no longer holds.
        let header = try #require(original.range(of: "\"f\":1", options: .backwards))
        try await state.store.put(
            key: key, data: Data(original.replacingCharacters(in: header, with: "\"f\":7").utf8), options: PutOptions())
        let headerError = await #expect(throws: RunError.self) {
            try await ShardPlanReader(state: state, spec: prepared.spec).fileCount(0)
        }
        #expect(headerError?.code == .tamperedState)
        #expect(headerError?.message.contains("plan index of part 0") == true, "\(String(describing: headerError))")
    }

    @Test func aRunStoredWithAnObjectPerShardStillReads() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("plans-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let state = RunStateStore(store: LocalObjectStore(root: folder), layout: RunStateLayout(root: "", runID: "r"))
        let shard = Shard(index: 0, files: [PlannedFile(ordinal: 0, key: "a", size: 1, etag: "e", modified: 0)])
        try await state.write(shard, to: state.layout.plan(shard: 0))
        let digest = RunDigest.of(try await state.readBytes(state.layout.plan(shard: 0)))
        #expect(try await ShardPlanReader(state: state, index: .perShard(digests: [digest])).shard(0) == shard)
        await #expect(throws: RunError.self) {
            try await ShardPlanReader(state: state, index: .perShard(digests: [String(repeating: "0", count: 64)])).shard(0)
        }
    }

    @Test func aSpecFromALaterFormatIsRefusedWithWhatToDo() async throws {
        let corpus = try Corpus.make(count: 1)
        defer { corpus.remove() }
        let prepared = try await prepare(corpus, count: 1)
        var later = prepared.spec
        later.format = RunSpec.currentFormat + 1
        try await prepared.state.write(later, to: prepared.state.layout.spec)
        let error = await #expect(throws: RunError.self) { try await prepared.state.readSpec() }
        #expect(error?.message.contains("later version of Fanout") == true, "\(String(describing: error))")
    }
}

/// A listing is kept in a temporary file and read back as it was listed.
struct ListedFilesTests {
    @Test func filesComeBackInOrderWithEveryField() throws {
        let listed = try ListedFiles()
        var expected: [PlannedFile] = []
        // Enough records to cross the buffers of both writing and reading (1 MiB each).
        for ordinal in 0..<30_000 {
            let key = ordinal % 1000 == 0 ? "odd \"name\"\n\u{10FDE9}/é-\(ordinal)" : "logs/\(ordinal % 97)/part-\(ordinal).json"
            let file = PlannedFile(
                ordinal: ordinal, key: key, size: Int64(ordinal * 31 % 5000), etag: "\"etag-\(ordinal)\"",
                modified: 1_796_594_521.5789952 + Double(ordinal) / 3)
            try listed.append(key: file.key, size: file.size, etag: file.etag, modified: file.modified)
            expected.append(file)
        }
        #expect(listed.count == 30_000)
        #expect(listed.byteCount == expected.reduce(0) { $0 + $1.size })
        #expect(try listed.all() == expected)
        #expect(try listed.all() == expected, "a second pass reads the same")
    }

    @Test func aPlanMadeFromSizesAloneIsThePlanOfTheFiles() {
        let sizes: [Int64] = [5, 1, 5, 9, 0, 3, 3, 7, 1, 5]
        let files = sizes.enumerated().map { PlannedFile(ordinal: $0, key: "k\($0)", size: $1, etag: "e", modified: 0) }
        let plan = Planner.plan(files: files, sharding: .shards(3))
        // Largest first (ties by ordinal), each to the shard with the fewest bytes, then files, then index.
        #expect(plan.shards.map { $0.files.map(\.ordinal) } == [[1, 3, 4, 5], [7, 8, 9], [0, 2, 6]])
        #expect(plan.shards.map(\.bytes) == [13, 13, 13])
    }
}

/// A shard's plan line is read without a general JSON decoder, to the same shard a JSON decoder reads.
struct PlanLineReaderTests {
    func line(_ shard: Int, _ files: [PlannedFile]) -> Data {
        Data(PlanPart.line(shard: shard, files: Array(files.map(PlanPart.json).joined(separator: [UInt8(ascii: ",")]))))
    }

    @Test func readsEveryFieldAsAJSONDecoderDoes() throws {
        let keys = [
            "logs/2026/part-0.json", "odd \"name\"\nwith\ttabs\r", "back\\slash/é/\u{10FDE9}", "\u{01}control\u{1F}", "",
        ]
        let files = keys.enumerated().map { ordinal, key in
            PlannedFile(
                ordinal: ordinal * 1_000_003, key: key, size: Int64(ordinal) * 123_456_789_012,
                etag: "\"etag-\(ordinal)\"", modified: [0, 1_796_594_521.5789952, 1e17, -2.5, 3.0e-7][ordinal])
        }
        for shard in [Shard(index: 0, files: []), Shard(index: 4321, files: files)] {
            let bytes = line(shard.index, shard.files)
            let fast = try #require(PlanLineReader.shard(from: bytes))
            #expect(fast == shard)
            #expect(fast == (try JSONDecoder().decode(Shard.self, from: bytes)))
        }
    }

    @Test func aLineInAnotherLayoutIsLeftToTheJSONDecoder() throws {
        let file = PlannedFile(ordinal: 3, key: "a", size: 1, etag: "e", modified: 2)
        let pretty = try StateCoding.encode(Shard(index: 1, files: [file]))
        #expect(PlanLineReader.shard(from: pretty) == nil)
        let reordered = Data(#"{"index":1,"files":[{"e":"e","k":"a","m":2.0,"o":3,"s":1}]}"#.utf8)
        #expect(PlanLineReader.shard(from: reordered) == nil)
        let trailing = line(1, [file]) + Data("x".utf8)
        #expect(PlanLineReader.shard(from: trailing) == nil)
        let unicodeEscape = Data(#"{"files":[{"e":"e","k":"\u00e9","m":2.0,"o":3,"s":1}],"index":1}"#.utf8)
        #expect(PlanLineReader.shard(from: unicodeEscape) == nil)
        #expect(PlanLineReader.shard(from: line(1, [file])) == Shard(index: 1, files: [file]))
    }
}
