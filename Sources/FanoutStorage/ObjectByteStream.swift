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

        /// Keeps the bytes not yet returned in `buffer` from `cursor` on, and finds each line from the cursor, so
        /// every byte is searched once. The bytes before the cursor are dropped only before more are appended, and
        /// only when they are at least half of the buffer, so compacting costs linear time overall.
        public struct AsyncIterator: AsyncIteratorProtocol {
            var chunks: ObjectByteStream.AsyncIterator
            var buffer: [UInt8] = []
            var cursor = 0
            var finished = false

            public mutating func next() async throws -> String? {
                while true {
                    if let line = nextTerminatedLine() { return line }
                    if finished {
                        guard cursor < buffer.count else { return nil }
                        defer { buffer.removeAll(); cursor = 0 }
                        return String(decoding: buffer[cursor...], as: UTF8.self)
                    }
                    if cursor == buffer.count {
                        buffer.removeAll(keepingCapacity: true)
                        cursor = 0
                    } else if cursor >= buffer.count / 2 {
                        buffer.removeSubrange(..<cursor)
                        cursor = 0
                    }
                    if let chunk = try await chunks.next() {
                        buffer.append(contentsOf: chunk)
                    } else {
                        finished = true
                    }
                }
            }

            /// The line that ends at the first `\n` after the cursor, without its terminator; moves past it.
            private mutating func nextTerminatedLine() -> String? {
                let start = cursor
                let found = buffer.withUnsafeBytes { bytes -> Int? in
                    guard start < bytes.count, let base = bytes.baseAddress,
                        let newline = memchr(base + start, 0x0A, bytes.count - start)
                    else { return nil }
                    return base.distance(to: UnsafeRawPointer(newline))
                }
                guard let newline = found else { return nil }
                let end = newline > start && buffer[newline - 1] == 0x0D ? newline - 1 : newline
                cursor = newline + 1
                return String(decoding: buffer[start..<end], as: UTF8.self)
            }
        }
    }
}
