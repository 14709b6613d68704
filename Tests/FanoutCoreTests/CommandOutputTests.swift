import Foundation
import Testing
@testable import FanoutCore

/// How a command's output is stored in a segment's `v`.
@Suite struct CommandOutputTests {
    @Test func textIsAJSONStringAsBefore() throws {
        let encoded = try JSONEncoder().encode(CommandOutput("42 files\n"))
        #expect(String(decoding: encoded, as: UTF8.self) == #""42 files\n""#)
        // A value stored as text decodes to its UTF-8 bytes.
        let decoded = try JSONDecoder().decode(CommandOutput.self, from: Data(#""é\n""#.utf8))
        #expect(decoded.bytes == Data("é\n".utf8))
        #expect(decoded.text == "é\n")
    }

    @Test func bytesThatAreNotUTF8AreBase64AndComeBackExactly() throws {
        let every = CommandOutput(bytes: Data((0...255).map { UInt8($0) }))
        #expect(every.text == nil)
        #expect(every.description == "(256 bytes that are not UTF-8 text)")
        let encoded = try JSONEncoder().encode(every)
        let object = try JSONSerialization.jsonObject(with: encoded) as? [String: String]
        #expect(object?.keys.sorted() == ["base64"])
        #expect(try JSONDecoder().decode(CommandOutput.self, from: encoded) == every)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(CommandOutput.self, from: Data(#"{"base64": "not base64!"}"#.utf8))
        }
    }
}
