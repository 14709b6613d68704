import Foundation
import Testing

@testable import FanoutHTTP

/// Requests and responses end to end against the loopback test server: methods, headers, bodies, HTTP versions,
/// concurrency and connection reuse.
@Suite struct HTTPClientTests {
    let client = HTTPClient()

    @Test("A request without a body arrives with its method, path, query and headers", arguments: [
        HTTPMethod.get, .delete, .post, .put, .patch, HTTPMethod(rawValue: "options"),
    ])
    func requestWithoutBody(method: HTTPMethod) async throws {
        let request = HTTPRequest(
            method: method, url: try TestServers.http("/echo/some/path?a=1&b=two%20words"),
            headers: ["X-Fanout-Test": "value with spaces", "X-Empty": "", "Accept": "application/json"])
        let response = try await client.send(request)
        #expect(response.status == 200)
        #expect(response.attempts == 1)
        #expect(response.headers["Content-Type"] == "application/json")
        let echo = try Echo(response.body)
        #expect(echo.method == method.rawValue)
        #expect(echo.path == "/echo/some/path")
        #expect(echo.query == "a=1&b=two%20words")
        #expect(echo.headers["x-fanout-test"] == "value with spaces")
        #expect(echo.headers["x-empty"] == "")
        #expect(echo.headers["accept"] == "application/json")
        #expect(echo.bodyLength == 0)
        #expect(echo.httpVersion == "1.1")
    }

    @Test("A path's `.` and `..` segments are sent as they are, not resolved")
    func dotSegmentsSentAsIs() async throws {
        let client = HTTPClient(configuration: .init(tls: .init(trustedCAPEM: try TestServers.tlsFile("ca.pem"))))
        for path in ["/echo/logs/../x/./y", "/echo/../a/."] {
            for url in [try TestServers.http(path), try TestServers.https(path)] {
                let echo = try Echo(try await client.send(HTTPRequest(url: url)).body)
                #expect(echo.path == path, "\(url)")
            }
        }
    }

    @Test("A request body arrives intact, with its length", arguments: [
        HTTPMethod.put, .post, .patch, .delete,
    ])
    func requestWithBody(method: HTTPMethod) async throws {
        let body = testBytes(count: 300_000 + 7)
        let request = HTTPRequest(
            method: method, url: try TestServers.http("/echo"),
            headers: ["Content-Type": "application/octet-stream", "X-Trace": "abc"], body: .bytes(body))
        let echo = try Echo(try await client.send(request).body)
        #expect(echo.method == method.rawValue)
        #expect(echo.bodyLength == body.count)
        #expect(echo.bodySHA256 == SHA256.hex(body))
        #expect(echo.headers["content-length"] == "\(body.count)")
        #expect(echo.headers["content-type"] == "application/octet-stream")
        #expect(echo.headers["x-trace"] == "abc")
        #expect(echo.headers["expect"] == nil, "no Expect: 100-continue round trip")
    }

    @Test func headReturnsHeadersWithoutBody() async throws {
        let response = try await client.send(HTTPRequest(method: .head, url: try TestServers.http("/bytes/100000")))
        #expect(response.status == 200)
        #expect(response.headers["Content-Length"] == "100000")
        #expect(response.body.isEmpty)
    }

    @Test func emptyStringBody() async throws {
        let echo = try Echo(
            try await client.send(HTTPRequest(method: .post, url: try TestServers.http("/echo"), body: .bytes(""))).body)
        #expect(echo.method == "POST")
        #expect(echo.bodyLength == 0)
        #expect(echo.headers["content-length"] == "0")
    }

    @Test("An error status is a response, not a thrown error", arguments: [400, 404, 409, 418])
    func errorStatusIsAResult(status: Int) async throws {
        let response = try await client.send(HTTPRequest(url: try TestServers.http("/status/\(status)")))
        #expect(response.status == status)
        #expect(!response.isSuccess)
        #expect(response.bodyText == "status \(status)\n")
        #expect(response.attempts == 1)
    }

    @Test func responseHeadersAreCaseInsensitive() async throws {
        let response = try await client.send(HTTPRequest(url: try TestServers.http("/status/200?retry_after=12")))
        #expect(response.headers["retry-after"] == "12")
        #expect(response.headers["RETRY-AFTER"] == "12")
        #expect(response.headers["Content-Length"] == "\(response.body.count)")
    }

    // MARK: HTTP versions

    @Test func cleartextDefaultsToHTTP1() async throws {
        let echo = try Echo(try await client.send(HTTPRequest(url: try TestServers.http("/echo"))).body)
        #expect(echo.httpVersion == "1.1")
    }

    @Test func http2WithPriorKnowledgeOverCleartext() async throws {
        let client = HTTPClient(configuration: .init(httpVersion: .http2PriorKnowledge))
        let body = testBytes(count: 100_000)
        let response = try await client.send(
            HTTPRequest(method: .put, url: try TestServers.http("/echo"), headers: ["X-Fanout-Test": "h2c"], body: .bytes(body)))
        let echo = try Echo(response.body)
        #expect(echo.httpVersion == "2")
        #expect(echo.scheme == "http")
        #expect(echo.headers["x-fanout-test"] == "h2c")
        #expect(echo.bodySHA256 == SHA256.hex(body))
    }

    @Test func http2IsNegotiatedOverTLS() async throws {
        let client = HTTPClient(configuration: .init(tls: .init(trustedCAPEM: try TestServers.tlsFile("ca.pem"))))
        let echo = try Echo(try await client.send(HTTPRequest(url: try TestServers.https("/echo"))).body)
        #expect(echo.httpVersion == "2")
        #expect(echo.scheme == "https")
    }

    @Test func http1CanBeForcedOverTLS() async throws {
        let client = HTTPClient(
            configuration: .init(tls: .init(trustedCAPEM: try TestServers.tlsFile("ca.pem")), httpVersion: .http1_1))
        let echo = try Echo(try await client.send(HTTPRequest(url: try TestServers.https("/echo"))).body)
        #expect(echo.httpVersion == "1.1")
    }

    // MARK: Concurrency and connections

    @Test("200 requests, 32 at a time, each gets its own response", arguments: [
        HTTPClient.HTTPVersion.http1_1, .http2PriorKnowledge,
    ])
    func manyConcurrentRequests(version: HTTPClient.HTTPVersion) async throws {
        let client = HTTPClient(configuration: .init(httpVersion: version))
        let total = 200
        let inFlight = 32
        let base = try TestServers.environment("FANOUT_TEST_HTTP")
        let results = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            func add(_ index: Int) {
                group.addTask {
                    // Alternate uploads echoed back and downloads of a size unique to the request.
                    if index.isMultiple(of: 2) {
                        let body = testBytes(count: 1000 + index * 37, seed: UInt64(index + 1))
                        let response = try await client.send(
                            HTTPRequest(
                                method: .post, url: URL(string: "\(base)/echo/\(index)")!,
                                headers: ["X-Index": "\(index)"], body: .bytes(body)))
                        let echo = try Echo(response.body)
                        return (index, echo.path == "/echo/\(index)" && echo.headers["x-index"] == "\(index)"
                            && echo.bodySHA256 == SHA256.hex(body))
                    } else {
                        let count = 10_000 + index * 101
                        let response = try await client.send(HTTPRequest(url: URL(string: "\(base)/bytes/\(count)")!))
                        return (index, response.status == 200 && response.body.count == count
                            && BytePattern.firstMismatch(in: response.body, startingAt: 0) == nil)
                    }
                }
            }
            for index in 0..<inFlight { add(index) }
            var next = inFlight
            var results: [Int: Bool] = [:]
            while let (index, correct) = try await group.next() {
                results[index] = correct
                if next < total {
                    add(next)
                    next += 1
                }
            }
            return results
        }
        #expect(results.count == total)
        #expect(results.filter { !$0.value }.keys.sorted() == [])
    }

    @Test func sequentialRequestsReuseTheConnection() async throws {
        var clients: Set<String> = []
        for _ in 0..<5 {
            let echo = try Echo(try await client.send(HTTPRequest(url: try TestServers.http("/echo"))).body)
            clients.insert(echo.client)
        }
        #expect(clients.count == 1, "one connection for sequential requests, saw \(clients.sorted())")
    }

    @Test func concurrentHTTP2RequestsShareOneConnection() async throws {
        let client = HTTPClient(configuration: .init(tls: .init(trustedCAPEM: try TestServers.tlsFile("ca.pem"))))
        let url = try TestServers.https("/echo")
        let clients = try await withThrowingTaskGroup(of: Echo.self) { group in
            for _ in 0..<16 {
                group.addTask { try Echo(try await client.send(HTTPRequest(url: url)).body) }
            }
            var clients: Set<String> = []
            for try await echo in group {
                #expect(echo.httpVersion == "2")
                clients.insert(echo.client)
            }
            return clients
        }
        #expect(clients.count == 1, "HTTP/2 streams multiplexed on one connection, saw \(clients.sorted())")
    }

    @Test func sharedClientWorks() async throws {
        let response = try await HTTPClient.shared.send(HTTPRequest(url: try TestServers.http("/bytes/10")))
        #expect(response.body == Data((0..<10).map { UInt8($0) }))
    }

    @Test func unsupportedSchemeIsAnInvalidRequest() async throws {
        let error = await #expect(throws: HTTPClientError.self) {
            try await client.send(HTTPRequest(url: URL(string: "nosuchscheme://127.0.0.1/")!))
        }
        #expect(error?.code == .invalidRequest)
        #expect(error?.attempts == 1)
    }
}
