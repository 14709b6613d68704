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

    /// A part's stored bytes and its record for the spec. `shards` are consecutive, starting at a multiple of
    /// ``shardsPerPart``.
    static func encode(_ shards: [Shard]) throws -> (bytes: Data, record: PlanPartRecord) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var body = Data()
        var slices: [PlanSlice] = []
        slices.reserveCapacity(shards.count)
        for shard in shards {
            var line = try encoder.encode(shard)
            line.append(UInt8(ascii: "\n"))
            slices.append(PlanSlice(
                offset: body.count, length: line.count, files: shard.files.count, sha256: RunDigest.of(line)))
            body.append(line)
        }
        var header = try encoder.encode(slices)
        header.append(UInt8(ascii: "\n"))
        return (header + body, PlanPartRecord(headerLength: header.count, sha256: RunDigest.of(header)))
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
