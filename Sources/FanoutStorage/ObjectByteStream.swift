public import Foundation

/// The bytes of one object as a stream of chunks.
public struct ObjectByteStream: AsyncSequence, Sendable {
    public typealias Element = Data

    /// The object's size, or the range's, when known.
    public let length: Int64?
    let makeIterator: @Sendable () -> AsyncIterator

    public init<Base: AsyncSequence & Sendable>(length: Int64?, _ base: Base) where Base.Element == Data {
        self.length = length
        self.makeIterator = {
            var iterator = base.makeAsyncIterator()
            return AsyncIterator { try await iterator.next() }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { makeIterator() }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let nextChunk: () async throws -> Data?

        public mutating func next() async throws -> Data? { try await nextChunk() }
    }

    /// The stream split into lines, without their `\n` or `\r\n` terminators; pulled chunk by chunk.
    public var lines: Lines { Lines(base: self) }

    public struct Lines: AsyncSequence, Sendable {
        public typealias Element = String
        let base: ObjectByteStream

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(chunks: base.makeAsyncIterator()) }

        public struct AsyncIterator: AsyncIteratorProtocol {
            var chunks: ObjectByteStream.AsyncIterator
            var pending = Data()
            var finished = false

            public mutating func next() async throws -> String? {
                while true {
                    if let newline = pending.firstIndex(of: 0x0A) {
                        var line = pending[pending.startIndex..<newline]
                        if line.last == 0x0D { line = line.dropLast() }
                        pending.removeSubrange(pending.startIndex...newline)
                        return String(decoding: line, as: UTF8.self)
                    }
                    if finished {
                        guard !pending.isEmpty else { return nil }
                        defer { pending.removeAll() }
                        return String(decoding: pending, as: UTF8.self)
                    }
                    if let chunk = try await chunks.next() {
                        pending.append(chunk)
                    } else {
                        finished = true
                    }
                }
            }
        }
    }
}
