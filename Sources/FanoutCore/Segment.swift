import Crypto
import Foundation

/// A batch of records stored as one object: JSON lines, closed by a trailer that counts them and carries the
/// SHA-256 of everything before it.
///
/// Segments are written whole, so a reader sees all of one or none of it; a missing or wrong trailer means the
/// object was damaged, and reading it fails loudly rather than aggregating part of it.
enum Segment {
    static func encode(_ records: [RecordLine]) -> Data {
        var body = Data()
        for record in records {
            body.append(contentsOf: record.bytes)
            body.append(0x0A)
        }
        let digest = SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined()
        body.append(contentsOf: Array("{\"end\":{\"records\":\(records.count),\"sha256\":\"\(digest)\"}}\n".utf8))
        return body
    }

    /// The record lines of a segment, after checking its trailer.
    /// - Throws: ``RunError`` with code ``RunError/Code/corruptState`` naming `key` when the check fails.
    static func decode(_ data: Data, key: String) throws -> [RecordLine] {
        var lines = data.split(separator: 0x0A, omittingEmptySubsequences: true)
        guard let trailerLine = lines.popLast() else {
            throw corrupt(key, "it is empty")
        }
        struct Trailer: Decodable {
            struct End: Decodable {
                let records: Int
                let sha256: String
            }
            let end: End
        }
        guard let trailer = try? JSONDecoder().decode(Trailer.self, from: Data(trailerLine)) else {
            throw corrupt(key, "its trailer is missing: the object is truncated")
        }
        guard trailer.end.records == lines.count else {
            throw corrupt(key, "it holds \(lines.count) records but its trailer says \(trailer.end.records)")
        }
        let bodyLength = trailerLine.startIndex - data.startIndex
        let digest = SHA256.hash(data: data.prefix(bodyLength)).map { String(format: "%02x", $0) }.joined()
        guard digest == trailer.end.sha256 else {
            throw corrupt(key, "its checksum does not match its contents")
        }
        return lines.map { RecordLine(bytes: Array($0)) }
    }

    private static func corrupt(_ key: String, _ reason: String) -> RunError {
        RunError(
            code: .corruptState,
            message: "result segment \(key) is corrupt: \(reason). Delete it and re-attach to recompute its files.")
    }
}
