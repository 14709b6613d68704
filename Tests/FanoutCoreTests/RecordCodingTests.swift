import Foundation
import Testing
@testable import FanoutCore

/// Records as segments store them: the scalar fast path writes what JSONEncoder writes, and the ordinal is read
/// without decoding the rest.
struct RecordCodingTests {
    @Test(arguments: ["plain", "quote \" and back\\slash", "new\nline\ttab\r", "\u{1}\u{1f} controls", "slash / é ✓", ""])
    func aStringIsWrittenAsJSONDecodesIt(text: String) throws {
        let bytes = try RecordCoding.encodeValue(text)
        #expect(try JSONDecoder().decode(String.self, from: Data(bytes)) == text)
    }

    @Test func scalarsAreWrittenAsJSONEncoderWritesThem() throws {
        for number in [0, -1, 42, Int.max, Int.min] {
            #expect(try RecordCoding.encodeValue(number) == Array(try JSONEncoder().encode(number)))
        }
        #expect(try RecordCoding.encodeValue(true) == Array("true".utf8))
        #expect(try RecordCoding.encodeValue(false) == Array("false".utf8))
        #expect(try RecordCoding.encodeValue(["b": 2, "a": 1]) == Array(#"{"a":1,"b":2}"#.utf8), "others: JSONEncoder")
    }

    @Test func theOrdinalIsReadFromTheFirstField() {
        let file = PlannedFile(ordinal: 1234, key: "a.txt", size: 3, etag: "e", modified: 0)
        let run = RecordLine.Run(attempt: 1, seconds: 0.5)
        let made = RecordLine.success(file: file, run: run, value: Array("3".utf8), typed: 3)
        let stored = RecordLine(bytes: made.bytes)
        #expect(made.ordinal == 1234 && stored.ordinal == 1234)
        #expect(stored.renumbered(7).ordinal == 7)
        #expect(RecordLine(bytes: Array(#"{"k":"a","o":1}"#.utf8)).ordinal == nil, "another order: decoded instead")
        #expect(RecordLine(bytes: Array(#"{"o":12"#.utf8)).ordinal == nil, "cut short")
        #expect(RecordLine(bytes: Array(#"{"o":99999999999999999999999,"k":"a"}"#.utf8)).ordinal == nil, "too large")
    }
}

/// Stored results are read without a general JSON decoder, to the same outcome `JSONDecoder` reads.
struct RecordLineReaderTests {
    struct Point: Codable, Equatable { var x: Int; var label: String }

    /// The outcome decoded by hand equals the outcome decoded with `JSONDecoder`, field by field.
    func expectSameOutcome<Output: Codable & Equatable & Sendable>(_ line: RecordLine, as type: Output.Type) throws {
        let fast = try #require(RecordLineReader.outcome(of: line.bytes, as: type, cached: true))
        let slow = try RecordCoding.decoder.decode(TypedRecord<Output>.self, from: Data(line.bytes))
        #expect(fast.ordinal == slow.o && fast.key == slow.k && fast.etag == slow.e && fast.size == slow.z)
        #expect(fast.attempt == slow.a && fast.duration == .milliseconds(Int64(slow.d * 1000)) && fast.cached)
        #expect(fast.startedAt == slow.t.map { Date(timeIntervalSince1970: Double($0) / 1000) })
        #expect(fast.exit == slow.s.map { ProgramExit(status: $0, signal: slow.g ?? 0) })
        #expect(fast.value == slow.v)
        #expect(fast.failure?.message == slow.x)
    }

    @Test func everyFieldReadsAsJSONDecoderReadsIt() throws {
        let file = PlannedFile(
            ordinal: 1_234_567, key: "odd \"name\"\n\t\u{01}/é✓", size: 98_765_432_100, etag: "\"abc-3\"", modified: 0)
        let runs = [
            RecordLine.Run(attempt: 1, seconds: 0.000_001),
            RecordLine.Run(attempt: 3, seconds: 12.5, startedMillis: 1_796_594_521_578),
            RecordLine.Run(attempt: 2, seconds: 0.25, startedMillis: 7, exit: ProgramExit(status: -1, signal: 9)),
        ]
        for run in runs {
            try expectSameOutcome(.success(file: file, run: run, value: try RecordCoding.encodeValue(-42)), as: Int.self)
            try expectSameOutcome(
                .success(file: file, run: run, value: try RecordCoding.encodeValue("a \"b\"\n\\c")), as: String.self)
            try expectSameOutcome(.success(file: file, run: run, value: try RecordCoding.encodeValue(true)), as: Bool.self)
            try expectSameOutcome(
                .success(file: file, run: run, value: try RecordCoding.encodeValue(Point(x: 3, label: "p"))),
                as: Point.self)
            try expectSameOutcome(.failure(file: file, run: run, message: "it broke: \"here\"\n"), as: Int.self)
        }
    }

    @Test func aRecordOutOfLayoutOrAValueOfAnotherTypeIsLeftToTheJSONDecoder() throws {
        let file = PlannedFile(ordinal: 1, key: "k", size: 2, etag: "e", modified: 0)
        let run = RecordLine.Run(attempt: 1, seconds: 0.5)
        let text = RecordLine.success(file: file, run: run, value: try RecordCoding.encodeValue("seven"))
        #expect(RecordLineReader.outcome(of: text.bytes, as: Int.self, cached: false) == nil)
        let null = RecordLine.success(file: file, run: run, value: Array("null".utf8))
        #expect(RecordLineReader.outcome(of: null.bytes, as: Int?.self, cached: false) == nil)
        let reordered = Array(#"{"k":"k","o":1,"e":"e","z":2,"a":1,"d":0.5,"v":3}"#.utf8)
        #expect(RecordLineReader.outcome(of: reordered, as: Int.self, cached: false) == nil)
        let withoutSize = Array(#"{"o":1,"k":"k","e":"e","a":1,"d":0.5,"v":3}"#.utf8)
        #expect(RecordLineReader.outcome(of: withoutSize, as: Int.self, cached: false) == nil)
        let integer = RecordLine.success(file: file, run: run, value: Array("3".utf8))
        #expect(RecordLineReader.outcome(of: integer.bytes, as: Int.self, cached: false)?.value == 3)
    }
}

/// The scanner reads integers as Swift prints them, and nothing else.
struct JSONLayoutScannerTests {
    func integer(_ text: String) -> Int? {
        Array(text.utf8).withUnsafeBytes { bytes in
            var scanner = JSONLayoutScanner(bytes)
            guard let value = scanner.integer(), scanner.atEnd else { return nil }
            return value
        }
    }

    @Test func integers() {
        #expect(integer("0") == 0)
        #expect(integer("-17") == -17)
        #expect(integer(String(Int.max)) == Int.max)
        #expect(integer(String(Int.min)) == Int.min)
        #expect(integer("9223372036854775808") == nil)
        #expect(integer("-9223372036854775809") == nil)
        #expect(integer("007") == nil)
        #expect(integer("-") == nil)
        #expect(integer("") == nil)
    }
}
