import Foundation

/// Reads a shard's line of a plan part in the one layout ``PlanPart`` writes (`{"files":[{"e":…,"k":…,"m":…,
/// "o":…,"s":…},…],"index":N}`), without a general JSON decoder: decoding ten thousand files with `JSONDecoder`
/// took longer than running a trivial step on them.
///
/// Anything else (another key order, whitespace, an escape the writer never makes) gives `nil`, and the caller
/// decodes the line as JSON, so this is only ever a faster way to the same ``Shard``. The line's bytes were checked
/// against the spec's SHA-256 before they get here.
struct PlanLineReader {
    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    /// The shard a plan line holds, or `nil` when the line is not in ``PlanPart``'s own layout.
    static func shard(from data: Data) -> Shard? {
        data.withUnsafeBytes { buffer in
            var reader = PlanLineReader(bytes: buffer)
            return reader.shard()
        }
    }

    private init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    private mutating func shard() -> Shard? {
        guard literal(#"{"files":["#) else { return nil }
        var files: [PlannedFile] = []
        if !peek(UInt8(ascii: "]")) {
            repeat {
                guard let file = plannedFile() else { return nil }
                files.append(file)
            } while skip(UInt8(ascii: ","))
        }
        guard literal(#"],"index":"#), let index = integer(), literal("}") else { return nil }
        _ = skip(UInt8(ascii: "\n"))
        guard position == bytes.count else { return nil }
        return Shard(index: index, files: files)
    }

    private mutating func plannedFile() -> PlannedFile? {
        guard literal(#"{"e":"#), let etag = string(),
            literal(#","k":"#), let key = string(),
            literal(#","m":"#), let modified = number(),
            literal(#","o":"#), let ordinal = integer(),
            literal(#","s":"#), let size = integer(),
            literal("}")
        else { return nil }
        return PlannedFile(ordinal: ordinal, key: key, size: Int64(size), etag: etag, modified: modified)
    }

    private func peek(_ byte: UInt8) -> Bool { position < bytes.count && bytes[position] == byte }

    private mutating func skip(_ byte: UInt8) -> Bool {
        guard peek(byte) else { return false }
        position += 1
        return true
    }

    private mutating func literal(_ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard bytes.count - position >= count,
            memcmp(bytes.baseAddress! + position, text.utf8Start, count) == 0
        else { return false }
        position += count
        return true
    }

    /// A non-negative integer without leading zeros (`0` itself aside), as the writer prints it.
    private mutating func integer() -> Int? {
        let start = position
        var value = 0
        while position < bytes.count, case let digit = bytes[position], digit >= 48, digit <= 57 {
            let (times, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = times.addingReportingOverflow(Int(digit - 48))
            guard !overflowA, !overflowB else { return nil }
            value = sum
            position += 1
        }
        let digits = position - start
        guard digits > 0, digits == 1 || bytes[start] != 48 else { return nil }
        return value
    }

    /// A finite number as Swift prints a `Double` (digits, `.`, `e`, signs).
    private mutating func number() -> Double? {
        let start = position
        while position < bytes.count, case let byte = bytes[position],
            (byte >= 48 && byte <= 57) || byte == 46 || byte == 101 || byte == 69 || byte == 43 || byte == 45
        {
            position += 1
        }
        guard position > start,
            let value = Double(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)),
            value.isFinite
        else { return nil }
        return value
    }

    /// A string with only the escapes ``RecordCoding/jsonString(_:)`` makes.
    private mutating func string() -> String? {
        guard skip(UInt8(ascii: "\"")) else { return nil }
        let start = position
        // The common case: no escape, so the string is the bytes between the quotes.
        while position < bytes.count, case let byte = bytes[position], byte != 34, byte != 92, byte >= 0x20 {
            position += 1
        }
        guard position < bytes.count else { return nil }
        if bytes[position] == 34 {
            defer { position += 1 }
            return String(validating: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        }
        var text = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<position]))
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            switch byte {
            case 34: return String(validating: text, as: UTF8.self)
            case 92:
                guard position < bytes.count else { return nil }
                let escaped = bytes[position]
                position += 1
                switch escaped {
                case 34, 92: text.append(escaped)
                case UInt8(ascii: "n"): text.append(0x0A)
                case UInt8(ascii: "r"): text.append(0x0D)
                case UInt8(ascii: "t"): text.append(0x09)
                case UInt8(ascii: "u"):
                    // Only control characters are written as `\u00XX`.
                    guard bytes.count - position >= 4, literal("00"),
                        let high = hexDigit(bytes[position]), let low = hexDigit(bytes[position + 1])
                    else { return nil }
                    position += 2
                    let value = high << 4 | low
                    guard value < 0x20 else { return nil }
                    text.append(value)
                default: return nil
                }
            case 0..<0x20: return nil
            default: text.append(byte)
            }
        }
        return nil
    }

    private func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 48...57: byte - 48
        case 97...102: byte - 87
        default: nil
        }
    }
}
