/// One line of a response head as libcurl hands it over (terminator included), read straight from its bytes.
///
/// Leading and trailing spaces, tabs, carriage returns and line feeds are dropped, as HTTP's optional whitespace
/// around a field value; the bytes between are kept as they are (UTF-8, invalid bytes replaced). This runs for every
/// header of every response, so it works on bytes rather than through Foundation's character sets.
enum HTTPHeaderLine: Equatable {
    /// A status line (`HTTP/1.1 200 OK`): a new head begins (after a `100 Continue` or a redirect, another one).
    case status
    /// The blank line that ends a head.
    case end
    case field(name: String, value: String)
    /// A line that is none of these (no colon): skipped.
    case ignored

    init(_ line: UnsafeRawBufferPointer) {
        let bytes = line[...]
        if bytes.starts(with: "HTTP/".utf8) {
            self = .status
            return
        }
        let trimmed = Self.trimmed(bytes)
        guard !trimmed.isEmpty else {
            self = .end
            return
        }
        guard let colon = trimmed.firstIndex(of: UInt8(ascii: ":")) else {
            self = .ignored
            return
        }
        let name = Self.trimmed(trimmed[..<colon])
        let value = Self.trimmed(trimmed[(colon + 1)...])
        self = .field(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self))
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
            || byte == UInt8(ascii: "\n")
    }

    private static func trimmed(_ bytes: Slice<UnsafeRawBufferPointer>) -> Slice<UnsafeRawBufferPointer> {
        guard let first = bytes.firstIndex(where: { !isSpace($0) }),
            let last = bytes.lastIndex(where: { !isSpace($0) })
        else { return bytes[bytes.startIndex..<bytes.startIndex] }
        return bytes[first...last]
    }
}
