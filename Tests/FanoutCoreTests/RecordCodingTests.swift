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
