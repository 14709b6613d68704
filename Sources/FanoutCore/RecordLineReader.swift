import Foundation

/// Reads a stored result in the layout ``RecordLine`` writes, with a ``JSONLayoutScanner``, and its value by the
/// step's output type: by hand for the scalars ``RecordCoding/encodeValue(_:)`` writes by hand (`Int`, `String`,
/// `Bool`), else with `JSONDecoder` on the value's bytes alone.
///
/// Any other layout, and a value that does not decode, give `nil`: the caller then decodes the whole record with
/// `JSONDecoder`, which says what is wrong.
enum RecordLineReader {
    static func outcome<Output: Decodable>(of bytes: [UInt8], as _: Output.Type, cached: Bool) -> FileOutcome<Output>? {
        bytes.withUnsafeBytes { buffer in
            var scanner = JSONLayoutScanner(buffer)
            guard scanner.literal(#"{"o":"#), let ordinal = scanner.integer(),
                scanner.literal(#","k":"#), let key = scanner.string(),
                scanner.literal(#","e":"#), let etag = scanner.string(),
                scanner.literal(#","z":"#), let size = scanner.integer(),
                scanner.literal(#","a":"#), let attempt = scanner.integer(),
                scanner.literal(#","d":"#), let seconds = scanner.number()
            else { return nil }
            var startedMillis: Int?
            if scanner.literal(#","t":"#) {
                guard let started = scanner.integer() else { return nil }
                startedMillis = started
            }
            var exit: ProgramExit?
            if scanner.literal(#","s":"#) {
                guard let status = scanner.integer().flatMap(Int32.init(exactly:)), scanner.literal(#","g":"#),
                    let signal = scanner.integer().flatMap(Int32.init(exactly:))
                else { return nil }
                exit = ProgramExit(status: status, signal: signal)
            }
            let result: Result<Output, FileFailure>
            if scanner.literal(#","x":"#) {
                guard let message = scanner.string(), scanner.literal("}"), scanner.atEnd else { return nil }
                result = .failure(FileFailure(message: message))
            } else if scanner.literal(#","v":"#) {
                let end = buffer.count - 1
                guard end > scanner.position, buffer[end] == UInt8(ascii: "}"),
                    let value = value(UnsafeRawBufferPointer(rebasing: buffer[scanner.position..<end]), as: Output.self)
                else { return nil }
                result = .success(value)
            } else {
                return nil
            }
            return FileOutcome(
                key: key, ordinal: ordinal, etag: etag, size: Int64(size), result: result, attempt: attempt,
                duration: .milliseconds(Int64(seconds * 1000)), cached: cached,
                startedAt: startedMillis.map { Date(timeIntervalSince1970: Double($0) / 1000) }, exit: exit)
        }
    }

    /// A stored value as the step's output type; `nil` for `null` (a record without a value, which the caller
    /// reports) and for bytes that do not decode.
    static func value<Output: Decodable>(_ bytes: UnsafeRawBufferPointer, as _: Output.Type) -> Output? {
        var null = JSONLayoutScanner(bytes)
        if null.literal("null"), null.atEnd { return nil }
        var scanner = JSONLayoutScanner(bytes)
        if Output.self == Int.self {
            if let value = scanner.integer(), scanner.atEnd { return value as? Output }
        } else if Output.self == String.self {
            if let value = scanner.string(), scanner.atEnd { return value as? Output }
        } else if Output.self == Bool.self {
            if scanner.literal("true"), scanner.atEnd { return true as? Output }
            if scanner.literal("false"), scanner.atEnd { return false as? Output }
        }
        return try? RecordCoding.decoder.decode(Output.self, from: Data(bytes))
    }
}
