import Foundation

/// Reads a shard's line of a plan part in the layout ``PlanPart`` writes (`{"files":[{"e":…,"k":…,"m":…,"o":…,
/// "s":…},…],"index":N}`) with a ``JSONLayoutScanner``: decoding ten thousand files with `JSONDecoder` took
/// longer than running a trivial step on them.
///
/// A line in any other layout gives `nil`, and the caller decodes it as JSON. The line's bytes were checked
/// against the spec's SHA-256 before they get here.
enum PlanLineReader {
    /// The shard a plan line holds, or `nil` when the line is not in ``PlanPart``'s own layout.
    static func shard(from data: Data) -> Shard? {
        data.withUnsafeBytes { buffer in
            var scanner = JSONLayoutScanner(buffer)
            guard scanner.literal(#"{"files":["#) else { return nil }
            var files: [PlannedFile] = []
            if !scanner.peek(UInt8(ascii: "]")) {
                repeat {
                    guard let file = plannedFile(&scanner) else { return nil }
                    files.append(file)
                } while scanner.skip(UInt8(ascii: ","))
            }
            guard scanner.literal(#"],"index":"#), let index = scanner.integer(), scanner.literal("}") else { return nil }
            _ = scanner.skip(UInt8(ascii: "\n"))
            guard scanner.atEnd else { return nil }
            return Shard(index: index, files: files)
        }
    }

    private static func plannedFile(_ scanner: inout JSONLayoutScanner) -> PlannedFile? {
        guard scanner.literal(#"{"e":"#), let etag = scanner.string(),
            scanner.literal(#","k":"#), let key = scanner.string(),
            scanner.literal(#","m":"#), let modified = scanner.number(),
            scanner.literal(#","o":"#), let ordinal = scanner.integer(),
            scanner.literal(#","s":"#), let size = scanner.integer(),
            scanner.literal("}")
        else { return nil }
        return PlannedFile(ordinal: ordinal, key: key, size: Int64(size), etag: etag, modified: modified)
    }
}
