import CoreFoundation
import Fanout
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How `fanout run` folds the per-file outputs of a command into one result.
enum ReduceMode: String, CaseIterable, Sendable {
    case lines, concat, count, sum, jsonl, mergeJSON = "merge-json", none
}

/// Folds command outputs as they arrive and writes the result.
struct OutputReducer {
    let mode: ReduceMode
    private let sink: OutputSink
    private var total = 0.0
    private var count = 0
    private var merged: Any = [String: Any]()
    private var byKey: [(String, Data)] = []

    init(mode: ReduceMode, sink: OutputSink) {
        self.mode = mode
        self.sink = sink
    }

    /// Folds one file's output. `lines`, `concat`, `count` and `none` keep its bytes as they are; `sum` reads the
    /// number at the start of each line (the rest of a line, a file name say, may be any bytes); `jsonl` and
    /// `merge-json` read it as UTF-8 text.
    /// - Throws: ``ReduceError`` when the output does not fit the mode (not UTF-8 text for the modes that read
    ///   text, not JSON for `jsonl`/`merge-json`).
    mutating func add(key: String, output: CommandOutput) throws {
        count += 1
        switch mode {
        case .lines:
            // A file that printed nothing adds no line; a last line without a newline gets one.
            guard !output.bytes.isEmpty else { break }
            sink.write(output.bytes)
            if output.bytes.last != UInt8(ascii: "\n") { sink.write("\n") }
        case .concat:
            byKey.append((key, output.bytes))
        case .count, .none:
            break
        case .sum:
            try addNumbers(key: key, output: output)
        case .jsonl, .mergeJSON:
            try addJSON(key: key, output: try text(of: output, key: key))
        }
    }

    /// Adds the number at the start of each line of `output`.
    private mutating func addNumbers(key: String, output: CommandOutput) throws {
        let isSpace = { (byte: UInt8) in byte == 0x20 || (0x09...0x0D).contains(byte) }
        for line in output.bytes.split(separator: UInt8(ascii: "\n")) {
            guard let token = line.split(whereSeparator: isSpace).first else { continue }
            guard let number = String(validating: token, as: UTF8.self).flatMap({ Double($0) }) else {
                _ = try text(of: output, key: key)
                let shown = String(decoding: line.prefix(60), as: UTF8.self)
                throw ReduceError(
                    message: "\(key) printed '\(shown)', which does not start with a number "
                        + "(--reduce sum adds the first number of each line)")
            }
            total += number
        }
    }

    /// The output as text, for the modes that read it.
    private func text(of output: CommandOutput, key: String) throws -> String {
        guard let text = output.text else {
            throw ReduceError(
                message: "\(key) printed \(output.bytes.count) bytes that are not UTF-8 text, which --reduce "
                    + "\(mode.rawValue) cannot read; use --reduce concat, lines or none to keep bytes as they are")
        }
        return text
    }

    private mutating func addJSON(key: String, output: String) throws {
        switch mode {
        case .lines, .concat, .count, .none, .sum:
            break
        case .jsonl:
            let value = try Self.parseJSON(output, key: key)
            let line = try JSONSerialization.data(
                withJSONObject: ["key": key, "value": value], options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
            sink.write(String(decoding: line, as: UTF8.self) + "\n")
        case .mergeJSON:
            merged = Self.merge(merged, try Self.parseJSON(output, key: key))
        }
    }

    /// Writes what was folded and closes the output.
    mutating func finish() throws {
        switch mode {
        case .lines, .jsonl, .none:
            break
        case .concat:
            for (_, output) in byKey.sorted(by: { $0.0 < $1.0 }) { sink.write(output) }
        case .count:
            sink.write("\(count)\n")
        case .sum:
            sink.write(Self.format(total) + "\n")
        case .mergeJSON:
            let data = try JSONSerialization.data(
                withJSONObject: merged, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes, .fragmentsAllowed])
            sink.write(String(decoding: data, as: UTF8.self) + "\n")
        }
        try sink.commit()
    }

    /// The folded value as JSON, for `--json` summaries.
    var jsonValue: Any? {
        switch mode {
        case .count: count
        case .sum: total
        case .mergeJSON: merged
        default: nil
        }
    }

    static func format(_ number: Double) -> String {
        number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
    }

    static func parseJSON(_ text: String, key: String) throws -> Any {
        do {
            return try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        } catch {
            throw ReduceError(message: "\(key) printed output that is not JSON: '\(text.prefix(60))'")
        }
    }

    /// Merges JSON values: numbers add, objects merge key by key, arrays concatenate, anything else: the later wins.
    static func merge(_ a: Any, _ b: Any) -> Any {
        if let x = a as? NSNumber, let y = b as? NSNumber, !(x.isBool), !(y.isBool) {
            return NSNumber(value: x.doubleValue + y.doubleValue)
        }
        if var x = a as? [String: Any], let y = b as? [String: Any] {
            for (key, value) in y { x[key] = x[key].map { merge($0, value) } ?? value }
            return x
        }
        if let x = a as? [Any], let y = b as? [Any] { return x + y }
        return b
    }
}

extension NSNumber {
    /// JSON booleans arrive as NSNumbers of type char; JSON numbers never do.
    var isBool: Bool { String(cString: objCType) == "c" }
}

struct ReduceError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Where the reduced result goes: standard output (through ``Terminal``, a line at a time on a terminal), or a file
/// written atomically when the run ends.
final class OutputSink {
    private let path: String?
    private let temporary: String?
    /// `nil` for standard output.
    private var handle: FileHandle?
    private var buffer = Data()

    init(path: String?) throws {
        // Only a regular file (or a new one) is written beside and renamed into place; a device or a pipe
        // (/dev/null, /dev/stdout, a named pipe) is written in place, as renaming a file over it would replace it.
        // A symbolic link is followed, so the file it names is replaced and the link stays.
        let target = path.map(Self.destination)
        if let path, case .inPlace = target {
            guard let handle = FileHandle(forWritingAtPath: path) else {
                throw ReduceError(message: "cannot write --output \(path): check its permissions")
            }
            self.path = nil
            self.temporary = nil
            self.handle = handle
            return
        }
        let path = target.flatMap { if case .replace(let file) = $0 { file } else { nil } }
        self.path = path
        if let path {
            let temporary = path + ".fanout-partial-\(getpid())"
            guard FileManager.default.createFile(atPath: temporary, contents: nil),
                let handle = FileHandle(forWritingAtPath: temporary)
            else {
                throw ReduceError(message: "cannot write --output \(path): check the folder exists and is writable")
            }
            self.temporary = temporary
            self.handle = handle
        } else {
            self.temporary = nil
            self.handle = nil
        }
    }

    private enum Destination {
        /// A regular file, new or existing: written beside it and renamed over it.
        case replace(String)
        /// Anything else: opened and written.
        case inPlace
    }

    private static func destination(of path: String) -> Destination {
        var info = stat()
        guard lstat(path, &info) == 0 else { return .replace(path) }
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            return .replace(path)
        case S_IFLNK:
            guard let resolved = realpath(path, nil) else {
                // A link to a file yet to be made: make that file.
                guard let destination = try? FileManager.default.destinationOfSymbolicLink(atPath: path) else {
                    return .inPlace
                }
                return destination.hasPrefix("/")
                    ? .replace(destination)
                    : .replace((path as NSString).deletingLastPathComponent + "/" + destination)
            }
            defer { free(resolved) }
            let file = String(cString: resolved)
            return stat(file, &info) == 0 && info.st_mode & S_IFMT == S_IFREG ? .replace(file) : .inPlace
        default:
            return .inPlace
        }
    }

    func write(_ text: String) {
        write(Data(text.utf8))
    }

    func write(_ bytes: Data) {
        buffer.append(bytes)
        let lineBuffered = path == nil && (buffer.count >= 4096 || handle == nil && Terminal.shared.outputSharesScreen)
        if buffer.count >= 64 * 1024 || lineBuffered && bytes.contains(UInt8(ascii: "\n")) {
            flush()
        }
    }

    func flush() {
        guard !buffer.isEmpty else { return }
        if let handle { handle.write(buffer) } else { Terminal.shared.output(buffer) }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, and for a file renames the partial file into place.
    func commit() throws {
        flush()
        if handle == nil { Terminal.shared.flushOutput() }
        guard let path, let temporary, let handle else { return }
        try handle.close()
        guard rename(temporary, path) == 0 else {
            throw ReduceError(message: "cannot move the result into \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Removes a partial output file after a failure, so nothing half-written is left.
    func abandon() {
        guard let temporary else { return }
        try? handle?.close()
        unlink(temporary)
    }
}
