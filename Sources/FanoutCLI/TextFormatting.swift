import ArgumentParser
import Foundation

/// A duration typed as `90s`, `15m`, `1h`, `7d`, or plain seconds.
struct DurationText: ExpressibleByArgument, Sendable {
    let seconds: Int
    let text: String

    /// `seconds` in the largest unit that divides it: 3600 is `1h`, 90 is `90s`.
    init(seconds: Int) {
        self.seconds = seconds
        let unit = [("d", 86400), ("h", 3600), ("m", 60)].first { seconds > 0 && seconds % $0.1 == 0 }
        text = unit.map { "\(seconds / $0.1)\($0.0)" } ?? "\(seconds)s"
    }

    init?(argument: String) {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        var digits = argument
        var unit = 1
        if let last = argument.last, let multiplier = units[last] {
            digits = String(argument.dropLast())
            unit = multiplier
        }
        // At most a hundred years: enough for any expiry or age, and far from overflowing a date.
        guard let value = Int(digits), value >= 0, value <= 3_155_760_000 / unit else { return nil }
        seconds = value * unit
        text = argument
    }

    static var defaultCompletionKind: CompletionKind { .list(["30s", "15m", "1h", "1d"]) }

    /// As typed, for help's `(default: 1h)`.
    var defaultValueDescription: String { text }
}

/// A count and its noun, singular for one: "1 shard", "3 shards".
enum CountText {
    static func of(_ count: Int, _ singular: String, plural: String? = nil) -> String {
        "\(count) \(noun(count, singular, plural: plural))"
    }

    static func noun(_ count: Int, _ singular: String, plural: String? = nil) -> String {
        count == 1 ? singular : plural ?? singular + "s"
    }
}

enum ByteCountText {
    static func human(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(bytes)
        var index = 0
        while value >= 1024, index < units.count - 1 {
            value /= 1024
            index += 1
        }
        return index == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[index])
    }
}

enum DateText {
    static func short(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: date)
    }

    /// Parses `2024-05-01` (midnight UTC) or an ISO 8601 date-time.
    static func parse(_ text: String) -> Date? {
        if let date = ISO8601DateFormatter().date(from: text) { return date }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.date(from: text)
    }

    static func iso8601(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date)
    }
}

enum JSONLine {
    static func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return (try? String(decoding: encoder.encode(value), as: UTF8.self)) ?? "{}"
    }

    static func encode(_ object: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// Buffered writes to standard output, so listing a million keys is not a million write calls.
final class LineWriter {
    private var buffer = Data()

    func write(_ line: String) {
        buffer.append(contentsOf: line.utf8)
        buffer.append(0x0A)
        if buffer.count >= 64 * 1024 { flush() }
    }

    func flush() {
        FileHandle.standardOutput.write(buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
