import Testing

@testable import FanoutHTTP

@Suite struct HTTPHeadersTests {
    @Test func lookupIgnoresCase() {
        let headers: HTTPHeaders = ["Content-Type": "text/plain", "X-Amz-Date": "20150830T123600Z"]
        #expect(headers["content-type"] == "text/plain")
        #expect(headers["X-AMZ-DATE"] == "20150830T123600Z")
        #expect(headers["Missing"] == nil)
        #expect(headers.contains("CONTENT-TYPE"))
        #expect(!headers.contains("Content-Typ"))
    }

    @Test func repeatedFieldsKeepTheirOrder() {
        var headers = HTTPHeaders()
        headers.add(name: "Via", value: "a")
        headers.add(name: "via", value: "b")
        headers.add(name: "Other", value: "c")
        #expect(headers["VIA"] == "a")
        #expect(headers.values(for: "Via") == ["a", "b"])
        #expect(headers.count == 3)
        #expect(headers.map(\.name) == ["Via", "via", "Other"])
    }

    @Test func replaceOrAddLeavesOneField() {
        var headers: HTTPHeaders = ["Range": "bytes=0-1", "range": "bytes=2-3"]
        headers.replaceOrAdd(name: "RANGE", value: "bytes=4-5")
        #expect(headers.values(for: "range") == ["bytes=4-5"])
        headers.remove(name: "Range")
        #expect(headers.count == 0)
    }

    @Test func descriptionRedactsAuthorization() {
        let headers: HTTPHeaders = ["Authorization": "AWS4-HMAC-SHA256 Credential=secret", "Host": "example.com"]
        #expect(!headers.description.contains("secret"))
        #expect(headers.description.contains("Host: example.com"))
    }
}
