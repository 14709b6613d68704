import Foundation

/// A run's plan is stored in parts of ``shardsPerPart`` shards (`plan/part-000000.jsonl` holds shards 0 to 999), so
/// storing it costs a write per thousand shards, not one per shard.
///
/// A part is one line per shard (its ``Shard`` as JSON), then an index line: a JSON array with a ``PlanSlice`` per
/// shard of the part, in shard order (where its line is, its file count and its SHA-256). The spec records where
/// each part's index is and its SHA-256 (``PlanPartRecord``), so a worker reads its shard with two ranged reads (the
/// index, then its line), and every byte it uses is checked against the spec, which the run digest pins.
enum PlanPart {
    static let shardsPerPart = 1000
    /// The most files whose JSON a part is made from at once: a part of larger shards is made in more passes over
    /// the listing, so making it holds a few megabytes, whatever its size.
    static let filesPerPass = 65_536

    /// The part holding `shard`, and the shard's position in it.
    static func locate(_ shard: Int) -> (part: Int, position: Int) {
        (shard / shardsPerPart, shard % shardsPerPart)
    }

    /// How many parts a plan of `shards` shards has.
    static func count(shards: Int) -> Int { (shards + shardsPerPart - 1) / shardsPerPart }

    /// Writes part `part` to `output` and returns its record for the spec. `shardOf` is each listed file's shard
    /// by ordinal (-1 for a file not planned: carried from an earlier run); `fileCounts` each shard's file count.
    /// Lines are made a pass over the listing per ``filesPerPass`` files, written as they are made.
    static func write(
        part: Int, listed: ListedFiles, shardOf: [Int32], fileCounts: [Int], to output: FileHandle
    ) throws -> PlanPartRecord {
        let first = part * shardsPerPart
        let end = min(first + shardsPerPart, fileCounts.count)
        var slices: [PlanSlice] = []
        slices.reserveCapacity(end - first)
        var written = 0
        var chunkStart = first
        while chunkStart < end {
            var chunkEnd = chunkStart + 1
            var files = fileCounts[chunkStart]
            while chunkEnd < end, files + fileCounts[chunkEnd] <= filesPerPass {
                files += fileCounts[chunkEnd]
                chunkEnd += 1
            }
            var bodies = [[UInt8]](repeating: [], count: chunkEnd - chunkStart)
            try listed.forEach(where: { ordinal in
                let shard = Int(shardOf[ordinal])
                return shard >= chunkStart && shard < chunkEnd
            }) { file in
                let index = Int(shardOf[file.ordinal]) - chunkStart
                if !bodies[index].isEmpty { bodies[index].append(UInt8(ascii: ",")) }
                bodies[index] += json(file)
            }
            for (offset, body) in bodies.enumerated() {
                let shard = chunkStart + offset
                let line = line(shard: shard, files: body)
                bodies[offset] = []
                slices.append(PlanSlice(
                    offset: written, length: line.count, files: fileCounts[shard], sha256: RunDigest.of(line)))
                try output.write(contentsOf: line)
                written += line.count
            }
            chunkStart = chunkEnd
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var index = try encoder.encode(slices)
        index.append(UInt8(ascii: "\n"))
        try output.write(contentsOf: index)
        return PlanPartRecord(indexOffset: written, indexLength: index.count, sha256: RunDigest.of(index))
    }

    /// A shard's line: `files` is the JSON of its files (``json(_:)``), joined by commas.
    static func line(shard: Int, files: [UInt8]) -> [UInt8] {
        Array(#"{"files":["#.utf8) + files + Array("],\"index\":\(shard)}\n".utf8)
    }

    /// A planned file as JSON, with ``PlannedFile``'s keys, sorted.
    static func json(_ file: PlannedFile) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + file.key.utf8.count + file.etag.utf8.count)
        out.append(contentsOf: #"{"e":"#.utf8)
        RecordCoding.appendJSONString(file.etag, to: &out)
        out.append(contentsOf: #","k":"#.utf8)
        RecordCoding.appendJSONString(file.key, to: &out)
        let modified = file.modified.isFinite ? file.modified : 0
        out.append(contentsOf: ",\"m\":\(modified),\"o\":\(file.ordinal),\"s\":\(file.size)}".utf8)
        return out
    }
}

/// Where one shard's line is in its part (bytes from the start of the part).
struct PlanSlice: Codable, Sendable, Hashable {
    var offset: Int
    var length: Int
    var files: Int
    var sha256: String

    enum CodingKeys: String, CodingKey {
        case offset = "o", length = "n", files = "f", sha256 = "h"
    }
}

/// What the spec records of a plan part: where its index line is and the index's SHA-256.
struct PlanPartRecord: Codable, Sendable, Hashable {
    var indexOffset: Int
    var indexLength: Int
    var sha256: String
}
