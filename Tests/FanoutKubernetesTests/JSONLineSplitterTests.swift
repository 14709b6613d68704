import Foundation
import Testing

@testable import FanoutKubernetes

extension KubernetesTests {
    @Suite struct JSONLineSplitterTests {
        @Test func documentsSplitAnywhereComeOutWhole() throws {
            let documents = [#"{"type":"ADDED","object":{"a":1}}"#, #"{"type":"BOOKMARK"}"#, #"{"b":"x\ny"}"#]
            let stream = Data((documents.joined(separator: "\n") + "\n").utf8)
            for chunkSize in [1, 2, 3, 7, 64] {
                var splitter = JSONLineSplitter()
                var lines: [String] = []
                var offset = 0
                while offset < stream.count {
                    let chunk = stream[offset..<min(stream.count, offset + chunkSize)]
                    lines += try splitter.append(Data(chunk)).map { String(decoding: $0, as: UTF8.self) }
                    offset += chunkSize
                }
                #expect(lines == documents, "chunks of \(chunkSize) bytes")
                #expect(splitter.finish() == nil)
            }
        }

        @Test func blankLinesAndCarriageReturnsAreSkipped() throws {
            var splitter = JSONLineSplitter()
            let lines = try splitter.append(Data("{\"a\":1}\r\n\n\r\n{\"b\":2}\n{\"c\"".utf8))
            #expect(lines.map { String(decoding: $0, as: UTF8.self) } == ["{\"a\":1}", "{\"b\":2}"])
            #expect(splitter.pendingBytes == 4)
            #expect(splitter.finish().map { String(decoding: $0, as: UTF8.self) } == "{\"c\"")
        }

        @Test func anEndlessLineIsAnError() throws {
            var splitter = JSONLineSplitter(maxLineBytes: 16)
            #expect(throws: JSONLineSplitter.LineTooLong.self) {
                _ = try splitter.append(Data(repeating: UInt8(ascii: "x"), count: 17))
            }
        }
    }
}
