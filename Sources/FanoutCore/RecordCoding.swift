import Foundation

/// One line of a result segment: the outcome of one file, as JSON.
///
/// `{"o":ORDINAL,"k":KEY,"e":ETAG,"z":SIZE,"a":ATTEMPT,"d":SECONDS,"t":START,"v":VALUE}` for a value, with `"x":MESSAGE`
/// in place of `"v"` for a failure. `"t"` is when the step started on the file, in Unix milliseconds; a step that
/// ran a program adds its exit status `"s"` and signal `"g"` after it. The ordinal always comes first, so
/// carried-over lines can be renumbered cheaply.
struct RecordLine: Sendable {
    let bytes: [UInt8]
    /// The record as values, when it was made in this process: the in-process backend hands records to the driver
    /// with these, so the driver takes the step's value as it is instead of decoding ``bytes``.
    var values: RecordValues? = nil

    /// When and how the step ran on a file.
    struct Run: Sendable {
        var attempt: Int
        var seconds: Double
        /// Unix milliseconds; `nil` for a record no step produced (a shard that failed as a whole).
        var startedMillis: Int64? = nil
        var exit: ProgramExit? = nil
    }

    static func success(file: PlannedFile, attempt: Int, seconds: Double, value: [UInt8]) -> RecordLine {
        success(file: file, run: Run(attempt: attempt, seconds: seconds), value: value)
    }

    static func failure(file: PlannedFile, attempt: Int, seconds: Double, message: String) -> RecordLine {
        failure(file: file, run: Run(attempt: attempt, seconds: seconds), message: message)
    }

    /// - Parameter typed: `value` as the value it encodes, kept beside the bytes (``values``).
    static func success(file: PlannedFile, run: Run, value: [UInt8], typed: (any Sendable)? = nil) -> RecordLine {
        var line = header(file: file, run: run)
        line += Array(",\"v\":".utf8)
        line += value
        line.append(UInt8(ascii: "}"))
        return RecordLine(
            bytes: line, values: typed.map { RecordValues(file: file, run: run, value: $0, failure: nil) })
    }

    static func failure(file: PlannedFile, run: Run, message: String) -> RecordLine {
        var line = header(file: file, run: run)
        line += Array(",\"x\":".utf8)
        line += RecordCoding.jsonString(message)
        line.append(UInt8(ascii: "}"))
        return RecordLine(bytes: line, values: RecordValues(file: file, run: run, value: nil, failure: message))
    }

    private static func header(file: PlannedFile, run: Run) -> [UInt8] {
        let (attempt, seconds) = (run.attempt, run.seconds)
        var line: [UInt8] = []
        line.reserveCapacity(96 + file.key.utf8.count + file.etag.utf8.count)
        line.append(contentsOf: #"{"o":"#.utf8)
        line.append(contentsOf: String(file.ordinal).utf8)
        line.append(contentsOf: #","k":"#.utf8)
        RecordCoding.appendJSONString(file.key, to: &line)
        line.append(contentsOf: #","e":"#.utf8)
        RecordCoding.appendJSONString(file.etag, to: &line)
        line.append(contentsOf: #","z":"#.utf8)
        line.append(contentsOf: String(file.size).utf8)
        // Microseconds are plenty, and formatting by hand avoids String(format:) on the hot path.
        let micros = Int((max(0, seconds) * 1_000_000).rounded())
        let fraction = String(micros % 1_000_000)
        line.append(contentsOf: #","a":"#.utf8)
        line.append(contentsOf: String(attempt).utf8)
        line.append(contentsOf: #","d":"#.utf8)
        line.append(contentsOf: String(micros / 1_000_000).utf8)
        line.append(UInt8(ascii: "."))
        line.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: 6 - fraction.utf8.count))
        line.append(contentsOf: fraction.utf8)
        if let started = run.startedMillis {
            line.append(contentsOf: #","t":"#.utf8)
            line.append(contentsOf: String(started).utf8)
        }
        if let exit = run.exit { line.append(contentsOf: ",\"s\":\(exit.status),\"g\":\(exit.signal)".utf8) }
        return line
    }

    /// The file's ordinal, read from the record's first field (`{"o":123,`) without decoding the rest; `nil` for a
    /// record written otherwise.
    var ordinal: Int? {
        if let values { return values.file.ordinal }
        let prefix: [UInt8] = Array(#"{"o":"#.utf8)
        guard bytes.count > prefix.count, bytes.starts(with: prefix) else { return nil }
        var value = 0
        var index = prefix.count
        while index < bytes.count, let digit = bytes[index].asciiDigit, value <= (Int.max - 9) / 10 {
            value = value * 10 + digit
            index += 1
        }
        return index > prefix.count && index < bytes.count && bytes[index] == UInt8(ascii: ",") ? value : nil
    }

    /// The same record under another ordinal.
    func renumbered(_ ordinal: Int) -> RecordLine {
        guard let comma = bytes.firstIndex(of: UInt8(ascii: ",")) else { return self }
        return RecordLine(bytes: Array("{\"o\":\(ordinal)".utf8) + bytes[comma...])
    }
}

/// A record's fields as the values they were made from (``RecordLine/values``).
struct RecordValues: Sendable {
    let file: PlannedFile
    let run: RecordLine.Run
    /// The step's value, of its output type; `nil` for a failure.
    let value: (any Sendable)?
    let failure: String?
}

/// The fields of a record every reader needs, whatever the step's output type.
struct RecordHeader: Decodable, Sendable {
    let o: Int
    let k: String
    let e: String
    let z: Int64?
    let a: Int
    let d: Double
    let t: Int64?
    let x: String?
}

/// A record decoded with the step's output type.
struct TypedRecord<Output: Decodable>: Decodable {
    let o: Int
    let k: String
    let e: String
    let z: Int64?
    let a: Int
    let d: Double
    let t: Int64?
    let s: Int32?
    let g: Int32?
    let v: Output?
    let x: String?
}

enum RecordCoding {
    /// Shared: encoding with fixed options is safe from any thread (the type is Sendable), and making an encoder per
    /// record is not free.
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// Shared, for the same reason as ``encoder``.
    static let decoder = JSONDecoder()

    static func encodeValue<T: Encodable>(_ value: T) throws -> [UInt8] {
        // The common scalar outputs, written as JSONEncoder writes them, without its per-call set-up.
        switch value {
        case let number as Int: return Array(String(number).utf8)
        case let text as String: return jsonString(text)
        case let flag as Bool: return Array((flag ? "true" : "false").utf8)
        default: return Array(try encoder.encode(value))
        }
    }

    /// A JSON string literal, quotes included.
    static func jsonString(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 2)
        appendJSONString(text, to: &out)
        return out
    }

    /// Appends `text` as a JSON string literal, quotes included.
    static func appendJSONString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most keys need no escape: their bytes go in as they are.
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out.append(contentsOf: text.utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [92, 34]
            case UInt8(ascii: "\\"): out += [92, 92]
            case 0x0A: out += [92, UInt8(ascii: "n")]
            case 0x0D: out += [92, UInt8(ascii: "r")]
            case 0x09: out += [92, UInt8(ascii: "t")]
            case 0..<0x20: out += Array(String(format: "\\u%04x", byte).utf8)
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

extension UInt8 {
    /// The value of an ASCII digit; `nil` for any other byte.
    fileprivate var asciiDigit: Int? {
        self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9") ? Int(self - UInt8(ascii: "0")) : nil
    }
}
