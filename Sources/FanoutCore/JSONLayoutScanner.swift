import Foundation

/// Reads JSON in the one layout Fanout's own writers make (keys in a fixed order, no whitespace, only the escapes
/// ``RecordCoding/jsonString(_:)`` writes), a field at a time, without a general decoder: for the lines read once
/// per file (plan lines, result records), where `JSONDecoder` costs more than a small step's work.
///
/// Every read returns `nil` at the first byte out of that layout, and the caller then decodes the bytes with
/// `JSONDecoder`: the scanner is only ever a faster way to the same values.
struct JSONLayoutScanner {
    let bytes: UnsafeRawBufferPointer
    private(set) var position = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var atEnd: Bool { position == bytes.count }

    func peek(_ byte: UInt8) -> Bool { position < bytes.count && bytes[position] == byte }

    mutating func skip(_ byte: UInt8) -> Bool {
        guard peek(byte) else { return false }
        position += 1
        return true
    }

    /// Consumes `text` if the bytes continue with it.
    mutating func literal(_ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard bytes.count - position >= count, memcmp(bytes.baseAddress! + position, text.utf8Start, count) == 0
        else { return false }
        position += count
        return true
    }

    /// An integer as Swift prints one: an optional `-`, then digits without leading zeros.
    mutating func integer() -> Int? {
        let negative = skip(UInt8(ascii: "-"))
        let start = position
        var magnitude: UInt = 0
        while position < bytes.count, case let digit = bytes[position], digit >= 48, digit <= 57 {
            let (times, overflowA) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = times.addingReportingOverflow(UInt(digit - 48))
            guard !overflowA, !overflowB else { return nil }
            magnitude = sum
            position += 1
        }
        let digits = position - start
        guard digits > 0, digits == 1 || bytes[start] != 48 else { return nil }
        if negative { return magnitude <= UInt(Int.max) + 1 ? Int(truncatingIfNeeded: 0 &- magnitude) : nil }
        return magnitude <= UInt(Int.max) ? Int(magnitude) : nil
    }

    /// A finite number (digits, `.`, `e`, signs), parsed as `Double` parses it.
    mutating func number() -> Double? {
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

    /// A string literal, quotes included in what is consumed.
    mutating func string() -> String? {
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
                        let high = Self.hexDigit(bytes[position]), let low = Self.hexDigit(bytes[position + 1])
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

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 48...57: byte - 48
        case 97...102: byte - 87
        default: nil
        }
    }
}
