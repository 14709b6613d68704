import FanoutSigV4
import Foundation
import Testing

@Suite("Canonical requests")
struct SigV4SignerCanonicalRequestTests {
    let signer = Fixtures.signer

    func canonical(
        _ url: String,
        method: String = "GET",
        headers: [(name: String, value: String)] = []
    ) throws -> CanonicalRequest {
        try signer.canonicalRequest(
            method: method, url: Fixtures.url(url), headers: headers, payloadHash: SigV4.unsignedPayload
        )
    }

    @Test("Header names are lowercased and sorted; values trimmed with inner runs of spaces collapsed")
    func headerCanonicalization() throws {
        let request = try canonical(
            "\(Fixtures.bucket)/k",
            headers: [
                ("X-Amz-Meta-Zeta", "  last   one  "), ("Content-Type", "text/plain"),
                ("X-Amz-Meta-Alpha", "a\t\t b"), ("x-amz-meta-quoted", "\"  kept   as one  \""),
            ]
        )
        #expect(
            request.canonicalHeaders == """
                content-type:text/plain
                host:examplebucket.s3.amazonaws.com
                x-amz-meta-alpha:a b
                x-amz-meta-quoted:" kept as one "
                x-amz-meta-zeta:last one

                """
        )
        #expect(request.signedHeaders == "content-type;host;x-amz-meta-alpha;x-amz-meta-quoted;x-amz-meta-zeta")
    }

    @Test("Spaces and tabs around a header name are dropped, and the names compared without them")
    func headerNamesTrimmed() throws {
        let request = try canonical(
            "\(Fixtures.bucket)/k", headers: [(" \tX-Amz-Meta-Spaced ", "a"), ("x-amz-meta-spaced\t", "b")])
        #expect(request.canonicalHeaders.contains("\nx-amz-meta-spaced:a,b\n"), "\(request.canonicalHeaders)")
        #expect(request.signedHeaders == "host;x-amz-meta-spaced")
    }

    @Test("Repeated headers are joined with commas in the order given")
    func repeatedHeaders() throws {
        let request = try canonical(
            "\(Fixtures.bucket)/k",
            headers: [("X-Amz-Meta-List", " b "), ("x-amz-meta-list", "a"), ("X-AMZ-META-LIST", "c  d")]
        )
        #expect(request.canonicalHeaders.contains("x-amz-meta-list:b,a,c d\n"))
        #expect(request.signedHeaders == "host;x-amz-meta-list")
    }

    @Test("Hop-by-hop headers that proxies may change are not signed")
    func unsignedHeaders() throws {
        let request = try canonical(
            "\(Fixtures.bucket)/k",
            headers: [
                ("User-Agent", "fanout/1.0"), ("Expect", "100-continue"), ("Transfer-Encoding", "chunked"),
                ("Connection", "keep-alive"), ("X-Amzn-Trace-Id", "Root=1"), ("Range", "bytes=0-1"),
            ]
        )
        #expect(request.signedHeaders == "host;range")
    }

    @Test(
        "The host header carries the port only when it is not the scheme's default",
        arguments: [
            ("https://examplebucket.s3.amazonaws.com/k", "examplebucket.s3.amazonaws.com"),
            ("https://examplebucket.s3.amazonaws.com:443/k", "examplebucket.s3.amazonaws.com"),
            ("http://localhost:80/k", "localhost"),
            ("http://localhost:9000/bucket/k", "localhost:9000"),
            ("https://127.0.0.1:8443/bucket/k", "127.0.0.1:8443"),
            ("http://localhost:443/k", "localhost:443"),
            ("http://[::1]:9000/bucket/k", "[::1]:9000"),
        ]
    )
    func hostHeader(url: String, host: String) throws {
        let request = try canonical(url)
        #expect(request.canonicalHeaders == "host:\(host)\n")
    }

    @Test("A Host header given by the caller wins over the URL's host")
    func explicitHost() throws {
        let request = try canonical("http://127.0.0.1:9000/k", headers: [("Host", "examplebucket.s3.amazonaws.com")])
        #expect(request.canonicalHeaders == "host:examplebucket.s3.amazonaws.com\n")
    }

    @Test(
        "The path is encoded once per segment, never normalized",
        arguments: [
            ("", "/"),
            ("/", "/"),
            ("/test$file.text", "/test%24file.text"),
            ("/test%24file.text", "/test%24file.text"),
            ("/100%25", "/100%25"),
            ("/a%20b/c+d=e~f", "/a%20b/c%2Bd%3De~f"),
            ("/a//b/./c/../d/", "/a//b/./c/../d/"),
            ("/donn%C3%A9es/%C3%A9t%C3%A9.txt", "/donn%C3%A9es/%C3%A9t%C3%A9.txt"),
            ("/donn%c3%a9es", "/donn%C3%A9es"),
            ("/a%2Fb", "/a%2Fb"),
            ("/(x)!*'", "/%28x%29%21%2A%27"),
        ]
    )
    func canonicalURI(path: String, expected: String) throws {
        let request = try canonical("https://examplebucket.s3.amazonaws.com\(path)")
        #expect(request.canonicalURI == expected)
    }

    @Test(
        "Query parameters are re-encoded and sorted by name, then value",
        arguments: [
            ("", ""),
            ("lifecycle", "lifecycle="),
            ("b=2&a=1", "a=1&b=2"),
            ("a=2&a=1&a=10", "a=1&a=10&a=2"),
            ("prefix=a b", "prefix=a%20b"),
            ("prefix=a%20b", "prefix=a%20b"),
            ("prefix=a+b", "prefix=a%2Bb"),
            ("token=abc==", "token=abc%3D%3D"),
            ("delimiter=/&key=%7E~", "delimiter=%2F&key=~~"),
            ("a_b=1&a-b=2&a~b=3&aB=4&A=5", "A=5&a-b=2&aB=4&a_b=1&a~b=3"),
            ("x=1&&y=", "x=1&y="),
            ("uploads&prefix=%C3%A9", "prefix=%C3%A9&uploads="),
        ]
    )
    func canonicalQuery(query: String, expected: String) throws {
        var components = URLComponents()
        components.scheme = "https"
        components.host = "examplebucket.s3.amazonaws.com"
        components.percentEncodedPath = "/"
        components.percentEncodedQuery = query.isEmpty ? nil : query.replacingOccurrences(of: " ", with: "%20")
        let url = try #require(components.url)
        let request = try signer.canonicalRequest(
            method: "GET", url: url, headers: [], payloadHash: SigV4.unsignedPayload
        )
        #expect(request.canonicalQueryString == expected)
    }

    @Test("The text joins the six parts with newlines")
    func text() throws {
        let request = try canonical("\(Fixtures.bucket)/k?b=1&a", method: "delete")
        #expect(request.method == "DELETE")
        #expect(request.payloadHash == "UNSIGNED-PAYLOAD")
        #expect(
            request.text == "DELETE\n/k\na=&b=1\nhost:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD"
        )
        #expect(request.description == request.text)
    }
}
