import FanoutStorage
import Foundation
import Testing

@Suite("ObjectByteStream")
struct ObjectByteStreamTests {
    func stream(_ chunks: [String], length: Int64? = nil) -> ObjectByteStream {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: Data.self)
        for chunk in chunks { continuation.yield(Data(chunk.utf8)) }
        continuation.finish()
        return ObjectByteStream(length: length, stream)
    }

    func lines(_ chunks: [String]) async throws -> [String] {
        var lines: [String] = []
        for try await line in stream(chunks).lines { lines.append(line) }
        return lines
    }

    @Test("lines split across chunks, with \\n and \\r\\n terminators")
    func splitLines() async throws {
        #expect(try await lines(["a\nb", "c\r", "\nd\n"]) == ["a", "bc", "d"])
        #expect(try await lines(["one\r\ntwo\r\n"]) == ["one", "two"])
        #expect(try await lines(["x", "y", "z"]) == ["xyz"])
    }

    @Test("empty lines are kept; a missing final newline still ends the last line")
    func edges() async throws {
        #expect(try await lines(["\n\nlast"]) == ["", "", "last"])
        #expect(try await lines(["a\n", "\n"]) == ["a", ""])
        #expect(try await lines([]) == [])
        #expect(try await lines(["", ""]) == [])
    }

    /// The lines of `text` as `lines` must give them: split at `\n`, a `\r` before it dropped, and a last line
    /// without a newline kept as it is.
    static func expectedLines(_ text: String) -> [String] {
        // Split the bytes: a Swift `String` sees `\r\n` as one character.
        var lines = Array(text.utf8).split(separator: 0x0A, omittingEmptySubsequences: false)
        let last = lines.removeLast()
        let terminated = lines.map { String(decoding: $0.last == 0x0D ? $0.dropLast() : $0, as: UTF8.self) }
        return last.isEmpty ? terminated : terminated + [String(decoding: last, as: UTF8.self)]
    }

    @Test("every way of cutting a text into chunks gives the same lines", arguments: [false, true])
    func chunkBoundaries(trailingNewline: Bool) async throws {
        var text = ""
        for index in 0..<60 {
            switch index % 5 {
            case 0: text += "\n"
            case 1: text += String(repeating: "x", count: index) + "\r\n"
            case 2: text += "\r\n"
            default: text += "line \(index) é\n"
            }
        }
        text += trailingNewline ? "end\n" : "end\r"
        let bytes = Array(text.utf8)
        let expected = Self.expectedLines(text)
        for size in [1, 2, 3, 5, 7, 16, 31, 64, 200, bytes.count] {
            let chunks = stride(from: 0, to: bytes.count, by: size).map {
                Data(bytes[$0..<min($0 + size, bytes.count)])
            }
            let (source, continuation) = AsyncThrowingStream.makeStream(of: Data.self)
            for chunk in chunks { continuation.yield(chunk) }
            continuation.finish()
            var lines: [String] = []
            for try await line in ObjectByteStream(length: nil, source).lines { lines.append(line) }
            #expect(lines == expected, "chunks of \(size) bytes")
        }
    }

    @Test("20 MB of short lines in one chunk are split in one pass", .timeLimit(.minutes(1)))
    func manyLinesInOneChunk() async throws {
        let line = Array(String(repeating: "0123456789", count: 4).utf8.dropLast()) + [0x0A]
        let lineCount = 20 << 20 / line.count
        let (source, continuation) = AsyncThrowingStream.makeStream(of: Data.self)
        continuation.yield(Data([[UInt8]](repeating: line, count: lineCount).joined()))
        continuation.finish()
        var count = 0
        var lengthsMatch = true
        for try await text in ObjectByteStream(length: nil, source).lines {
            count += 1
            lengthsMatch = lengthsMatch && text.utf8.count == line.count - 1
        }
        #expect(count == lineCount)
        #expect(lengthsMatch)
    }

    @Test("a multi-byte character split between chunks survives")
    func utf8AcrossChunks() async throws {
        let bytes = Array("né€😀\n".utf8)
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: Data.self)
        for byte in bytes { continuation.yield(Data([byte])) }
        continuation.finish()
        var lines: [String] = []
        for try await line in ObjectByteStream(length: nil, stream).lines { lines.append(line) }
        #expect(lines == ["né€😀"])
    }

    @Test("chunks pass through unchanged, with the length given")
    func chunks() async throws {
        let bytes = stream(["ab", "", "cde"], length: 5)
        #expect(bytes.length == 5)
        var chunks: [Data] = []
        for try await chunk in bytes { chunks.append(chunk) }
        #expect(chunks == [Data("ab".utf8), Data(), Data("cde".utf8)])
    }

    @Test("an error from the source reaches the reader of lines")
    func errors() async throws {
        struct Broken: Error {}
        let (source, continuation) = AsyncThrowingStream.makeStream(of: Data.self)
        continuation.yield(Data("ok\npartial".utf8))
        continuation.finish(throwing: Broken())
        var iterator = ObjectByteStream(length: nil, source).lines.makeAsyncIterator()
        #expect(try await iterator.next() == "ok")
        await #expect(throws: Broken.self) { _ = try await iterator.next() }
    }
}
