import Testing

@testable import FanoutHTTP

/// Response head lines as libcurl hands them over, terminators included.
@Suite struct HTTPHeaderLineTests {
    func parse(_ line: String) -> HTTPHeaderLine {
        Array(line.utf8).withUnsafeBytes { HTTPHeaderLine($0) }
    }

    @Test func statusLinesStartAHeadAndBlankLinesEndIt() {
        #expect(parse("HTTP/1.1 200 OK\r\n") == .status)
        #expect(parse("HTTP/2 100\r\n") == .status)
        #expect(parse("\r\n") == .end)
        #expect(parse("\n") == .end)
        #expect(parse("") == .end)
    }

    @Test func fieldsLoseTheWhitespaceAroundNameAndValueOnly() {
        #expect(parse("Content-Length: 12\r\n") == .field(name: "Content-Length", value: "12"))
        #expect(parse("ETag:\"abc\"\r\n") == .field(name: "ETag", value: "\"abc\""))
        #expect(parse("Server: \t moto  server \t\r\n") == .field(name: "Server", value: "moto  server"))
        #expect(parse("X-Empty:\r\n") == .field(name: "X-Empty", value: ""))
        #expect(
            parse("Location: http://h:9000/a?b=c:d\r\n") == .field(name: "Location", value: "http://h:9000/a?b=c:d"))
        #expect(parse("x-amz-meta-name: café ☕\r\n") == .field(name: "x-amz-meta-name", value: "café ☕"))
    }

    @Test func linesWithoutAColonAreSkipped() {
        #expect(parse("continuation\r\n") == .ignored)
    }
}
