import Foundation

/// A run's plan is stored in parts of ``shardsPerPart`` shards (`plan/part-000000.jsonl` holds shards 0 to 999), so
/// storing it costs a write per thousand shards, not one per shard.
///
/// A part is a header line, then one line per shard (its ``Shard`` as JSON). The header is a JSON array with a
/// ``PlanSlice`` per shard of the part, in shard order: where its line is, its file count and its SHA-256. The spec
/// records each part's header length and SHA-256 (``PlanPartRecord``), so a worker reads its shard with two ranged
/// reads (the header, then its line), and every byte it uses is checked against the spec, which the run digest pins.
enum PlanPart {
    static let shardsPerPart = 1000

    /// The part holding `shard`, and the shard's position in it.
    static func locate(_ shard: Int) -> (part: Int, position: Int) {
        (shard / shardsPerPart, shard % shardsPerPart)
    }

    /// How many parts a plan of `shards` shards has.
    static func count(shards: Int) -> Int { (shards + shardsPerPart - 1) / shardsPerPart }

    /// Part `part`'s stored bytes and its record for the spec, made in one pass over the listing: only this
    /// part's shards are held, as the JSON of their files. `planned` lists the ordinals planned, ascending, when
    /// not every listed file is (the others were carried from an earlier run); `assignment` is by their position.
    static func encode(
        part: Int, listed: ListedFiles, planned: [Int32]?, assignment: ShardAssignment
    ) throws -> (bytes: Data, record: PlanPartRecord) {
        let first = part * shardsPerPart
        let end = min(first + shardsPerPart, assignment.fileCounts.count)
        var bodies = [[UInt8]](repeating: [], count: end - first)
        var cursor = 0
        try listed.forEach { file in
            let position: Int
            if let planned {
                guard cursor < planned.count, Int(planned[cursor]) == file.ordinal else { return }
                position = cursor
                cursor += 1
            } else {
                position = file.ordinal
            }
            let shard = Int(assignment.shardOf[position])
            guard shard >= first, shard < end else { return }
            if !bodies[shard - first].isEmpty { bodies[shard - first].append(UInt8(ascii: ",")) }
            bodies[shard - first] += json(file)
        }
        var body = Data()
        var slices: [PlanSlice] = []
        slices.reserveCapacity(bodies.count)
        for (offset, files) in bodies.enumerated() {
            let shard = first + offset
            let line = Array(#"{"files":["#.utf8) + files + Array("],\"index\":\(shard)}\n".utf8)
            slices.append(PlanSlice(
                offset: body.count, length: line.count, files: assignment.fileCounts[shard],
                sha256: RunDigest.of(Data(line))))
            body.append(contentsOf: line)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var header = try encoder.encode(slices)
        header.append(UInt8(ascii: "\n"))
        return (header + body, PlanPartRecord(headerLength: header.count, sha256: RunDigest.of(header)))
    }

    /// A planned file as JSON, with ``PlannedFile``'s keys, sorted.
    static func json(_ file: PlannedFile) -> [UInt8] {
        var out = Array(#"{"e":"#.utf8) + RecordCoding.jsonString(file.etag)
        out += Array(#","k":"#.utf8) + RecordCoding.jsonString(file.key)
        let modified = file.modified.isFinite ? file.modified : 0
        out += Array(",\"m\":\(modified),\"o\":\(file.ordinal),\"s\":\(file.size)}".utf8)
        return out
    }
}

/// Where one shard's line is in its part, counted from the end of the header.
struct PlanSlice: Codable, Sendable, Hashable {
    var offset: Int
    var length: Int
    var files: Int
    var sha256: String

    enum CodingKeys: String, CodingKey {
        case offset = "o", length = "n", files = "f", sha256 = "h"
    }
}

/// What the spec records of a plan part: how long its header is and the header's SHA-256.
struct PlanPartRecord: Codable, Sendable, Hashable {
    var headerLength: Int
    var sha256: String
}
