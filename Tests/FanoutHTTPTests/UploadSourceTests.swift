import Foundation
import Testing

@testable import FanoutHTTP

/// Request bodies: bytes, files and streams of known and unknown length, and streams that fail.
@Suite struct UploadSourceTests {
    let client = HTTPClient()

    /// A stream of `data` cut into chunks of varied sizes, pausing now and then so the transfer has to wait.
    private static func chunks(of data: Data, pauseEvery: Int = 0) -> @Sendable () -> AsyncThrowingStream<Data, any Error> {
        {
            AsyncThrowingStream { continuation in
                let task = Task {
                    var offset = 0
                    var index = 0
                    while offset < data.count {
                        let size = min(data.count - offset, [1, 1000, 65_536, 7, 200_000, 4096][index % 6])
                        continuation.yield(data.subdata(in: offset..<offset + size))
                        offset += size
                        index += 1
                        if pauseEvery > 0, index.isMultiple(of: pauseEvery) { try? await Task.sleep(for: .milliseconds(5)) }
                    }
                    continuation.finish()
                }
                continuation.onTermination = { _ in task.cancel() }
            }
        }
    }

    @Test("A stream of unknown length is sent chunked", arguments: [false, true])
    func streamOfUnknownLength(slowProducer: Bool) async throws {
        let data = testBytes(count: 3 << 20, seed: 11)
        let request = HTTPRequest(
            method: .put, url: try TestServers.http("/echo"),
            body: .stream(length: nil, Self.chunks(of: data, pauseEvery: slowProducer ? 3 : 0)))
        let response = try await client.send(request)
        let echo = try Echo(response.body)
        #expect(echo.bodyLength == data.count)
        #expect(echo.bodySHA256 == SHA256.hex(data))
        #expect(echo.headers["transfer-encoding"] == "chunked")
        #expect(echo.headers["content-length"] == nil)
    }

    @Test func streamOfKnownLengthSendsContentLength() async throws {
        let data = testBytes(count: (2 << 20) + 3, seed: 12)
        let request = HTTPRequest(
            method: .post, url: try TestServers.http("/echo"),
            body: .stream(length: Int64(data.count), Self.chunks(of: data, pauseEvery: 2)))
        let echo = try Echo(try await client.send(request).body)
        #expect(echo.method == "POST")
        #expect(echo.bodyLength == data.count)
        #expect(echo.bodySHA256 == SHA256.hex(data))
        #expect(echo.headers["content-length"] == "\(data.count)")
        #expect(echo.headers["transfer-encoding"] == nil)
    }

    @Test func streamOverHTTP2() async throws {
        let client = HTTPClient(configuration: .init(httpVersion: .http2PriorKnowledge))
        let data = testBytes(count: 1 << 20, seed: 13)
        let request = HTTPRequest(
            method: .put, url: try TestServers.http("/echo"), body: .stream(length: nil, Self.chunks(of: data, pauseEvery: 3)))
        let echo = try Echo(try await client.send(request).body)
        #expect(echo.httpVersion == "2")
        #expect(echo.bodySHA256 == SHA256.hex(data))
    }

    @Test func emptyStream() async throws {
        let request = HTTPRequest(
            method: .put, url: try TestServers.http("/echo"),
            body: .stream(length: nil) { AsyncThrowingStream { $0.finish() } })
        let echo = try Echo(try await client.send(request).body)
        #expect(echo.bodyLength == 0)
    }

    @Test func fileBody() async throws {
        let data = testBytes(count: (3 << 20) + 123, seed: 14)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fanout-upload-\(UUID().uuidString)").path
        try data.write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let body = try HTTPRequestBody.file(path: path)
        #expect(body.length == Int64(data.count))
        #expect(body.isReplayable)
        let echo = try Echo(try await client.send(HTTPRequest(method: .put, url: try TestServers.http("/echo"), body: body)).body)
        #expect(echo.bodyLength == data.count)
        #expect(echo.bodySHA256 == SHA256.hex(data))
        #expect(echo.headers["content-length"] == "\(data.count)")
    }

    @Test func missingFileThrows() {
        #expect(throws: (any Error).self) { try HTTPRequestBody.file(path: "/nonexistent/fanout/file") }
    }

    struct ProducerFailed: Error, CustomStringConvertible {
        var description: String { "the producer ran out of disk" }
    }

    @Test("A stream that throws fails the request with its error", arguments: [0, 5])
    func failingStream(chunksBeforeFailure: Int) async throws {
        let request = HTTPRequest(
            method: .put, url: try TestServers.http("/echo"),
            body: .stream(length: nil) {
                AsyncThrowingStream { continuation in
                    for _ in 0..<chunksBeforeFailure { continuation.yield(testBytes(count: 10_000)) }
                    continuation.finish(throwing: ProducerFailed())
                }
            })
        let error = await #expect(throws: HTTPClientError.self) { try await client.send(request) }
        #expect(error?.code == .invalidRequest)
        #expect(error?.message.contains("the producer ran out of disk") == true, "message: \(error?.message ?? "")")
        #expect(error?.attempts == 1)
    }

    @Test func replayableBodiesAreRetried() async throws {
        let client = HTTPClient(configuration: .init(retry: RetryPolicy(baseDelay: .milliseconds(1))))
        let data = testBytes(count: 50_000, seed: 15)
        let response = try await client.send(
            HTTPRequest(method: .put, url: try TestServers.http("/flaky/\(UUID().uuidString)/2"), body: .bytes(data)))
        #expect(response.status == 200)
        #expect(response.attempts == 3)
    }

    @Test func streamBodiesAreNotRetried() async throws {
        let client = HTTPClient(configuration: .init(retry: RetryPolicy(baseDelay: .milliseconds(1))))
        let data = testBytes(count: 50_000, seed: 16)
        let body = HTTPRequestBody.stream(length: Int64(data.count), Self.chunks(of: data))
        #expect(!body.isReplayable)
        let response = try await client.send(
            HTTPRequest(method: .put, url: try TestServers.http("/flaky/\(UUID().uuidString)/2"), body: body))
        #expect(response.status == 503)
        #expect(response.attempts == 1)
    }
}
