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
