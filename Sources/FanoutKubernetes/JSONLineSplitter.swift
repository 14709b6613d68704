import Foundation

/// Cuts a byte stream into newline-delimited JSON documents as chunks arrive, whatever the chunk boundaries:
/// a document split across chunks is held until its newline comes.
///
/// A pure state machine: ``append(_:)`` returns the documents the new bytes complete; ``finish()`` returns an
/// unterminated last document, if any.
struct JSONLineSplitter {
    private var buffer: [UInt8] = []
    /// Where the search for the next newline resumes, so each byte is scanned once.
    private var scanned = 0
    /// A document longer than this is an error rather than unbounded memory.
    let maxLineBytes: Int

    init(maxLineBytes: Int = 64 << 20) {
        self.maxLineBytes = maxLineBytes
    }

    struct LineTooLong: Error {}

    /// The complete documents `chunk` finishes, without their newlines; blank lines are skipped.
    mutating func append(_ chunk: Data) throws -> [Data] {
        buffer.append(contentsOf: chunk)
        var lines: [Data] = []
        var start = 0
        var index = scanned
        while index < buffer.count {
            if buffer[index] == UInt8(ascii: "\n") {
                if let line = Self.trimmed(buffer[start..<index]) { lines.append(line) }
                start = index + 1
            }
            index += 1
        }
        if start > 0 { buffer.removeFirst(start) }
        scanned = buffer.count
        if buffer.count > maxLineBytes { throw LineTooLong() }
        return lines
    }

    /// What is left after the last newline, when the stream ended without one.
    mutating func finish() -> Data? {
        defer {
            buffer = []
            scanned = 0
        }
        return Self.trimmed(buffer[...])
    }

    /// Bytes held waiting for a newline.
    var pendingBytes: Int { buffer.count }

    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> Data? {
        var slice = bytes
        while let last = slice.last, last == UInt8(ascii: "\r") || last == UInt8(ascii: " ") { slice.removeLast() }
        while let first = slice.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { slice.removeFirst() }
        return slice.isEmpty ? nil : Data(slice)
    }
}
