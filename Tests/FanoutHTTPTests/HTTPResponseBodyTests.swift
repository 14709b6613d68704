import Foundation
import Testing

@testable import FanoutHTTP

/// Response bodies: streamed chunk by chunk, bounded buffering for slow readers, limits, and aborting.
@Suite(.serialized) struct HTTPResponseBodyTests {
    @Test func largeDownloadStreamsInChunks() async throws {
        let client = HTTPClient()
        let size = 5 << 20
        let response = try await client.execute(HTTPRequest(url: try TestServers.http("/bytes/\(size)")))
        #expect(response.status == 200)
        #expect(response.headers["Content-Length"] == "\(size)")
        var offset = 0
        var chunks = 0
        for try await chunk in response.body {
            #expect(!chunk.isEmpty)
            let mismatch = BytePattern.firstMismatch(in: chunk, startingAt: offset)
            try #require(mismatch == nil, "byte \(mismatch ?? -1) breaks the pattern")
            offset += chunk.count
            chunks += 1
        }
        #expect(offset == size)
        #expect(chunks > 1, "a 5 MiB body arrives in more than one chunk")
    }

    @Test("A slow reader holds back the download", arguments: [false, true])
    func slowReaderBoundsBuffering(http2: Bool) async throws {
        let limit = 64 * 1024
        let client = HTTPClient(
            configuration: .init(
                tls: .init(trustedCAPEM: try TestServers.tlsFile("ca.pem")), responseBufferSize: limit))
        let size = 20 << 20
        let url = http2 ? try TestServers.https("/bytes/\(size)") : try TestServers.http("/bytes/\(size)")
        let response = try await client.execute(HTTPRequest(url: url))
        let transfer = response.body.handle.transfer
        var iterator = response.body.makeAsyncIterator()
        let first = try #require(try await iterator.next())
        var consumed = first.count

        // Left alone, a transfer that ignores backpressure would take the whole body in this time.
        try await Task.sleep(for: .milliseconds(500))
        let bound = limit + CurlTransfer.receiveChunkSize
        #expect(transfer.bufferedByteCount <= bound)
        #expect(transfer.receivedByteCount - consumed <= bound)
        #expect(transfer.receivedByteCount < size / 4)

        // Reading on resumes the transfer, and every byte arrives in order.
        var offset = first.count
        #expect(BytePattern.firstMismatch(in: first, startingAt: 0) == nil)
        var maxBuffered = 0
        while let chunk = try await iterator.next() {
            let mismatch = BytePattern.firstMismatch(in: chunk, startingAt: offset)
            try #require(mismatch == nil, "byte \(mismatch ?? -1) breaks the pattern")
            offset += chunk.count
            consumed += chunk.count
            maxBuffered = max(maxBuffered, transfer.bufferedByteCount)
        }
        #expect(offset == size)
        #expect(maxBuffered <= bound)
        if case .success = transfer.outcome {} else { Issue.record("transfer ended with \(String(describing: transfer.outcome))") }
    }

    @Test func collectWithinTheLimit() async throws {
        let client = HTTPClient()
        let response = try await client.execute(HTTPRequest(url: try TestServers.http("/bytes/100000")))
        let body = try await response.body.collect(upTo: 100_000)
        #expect(body.count == 100_000)
        #expect(BytePattern.firstMismatch(in: body, startingAt: 0) == nil)
    }

    @Test func collectOverTheLimitThrowsAndAborts() async throws {
        let client = HTTPClient()
        let response = try await client.execute(HTTPRequest(url: try TestServers.http("/bytes/\(4 << 20)")))
        let transfer = response.body.handle.transfer
        let error = await #expect(throws: HTTPClientError.self) {
            try await response.body.collect(upTo: 1 << 20)
        }
        #expect(error?.code == .bodyTooLarge)
        #expect(error?.message.contains("\(1 << 20)") == true)
        #expect(try await waitForOutcome(of: transfer)?.code == .cancelled)
    }

    @Test func sendThrowsBodyTooLarge() async throws {
        let client = HTTPClient()
        let error = await #expect(throws: HTTPClientError.self) {
            try await client.send(HTTPRequest(url: try TestServers.http("/bytes/5000")), maxBodyBytes: 4999)
        }
        #expect(error?.code == .bodyTooLarge)
    }

    @Test func emptyBodyEndsAtOnce() async throws {
        let client = HTTPClient()
        let response = try await client.execute(HTTPRequest(url: try TestServers.http("/bytes/0")))
        var chunks = 0
        for try await _ in response.body { chunks += 1 }
        #expect(chunks == 0)
        #expect(response.headers["Content-Length"] == "0")
    }

    @Test func readingPastTheEndKeepsReturningNil() async throws {
        let client = HTTPClient()
        let response = try await client.execute(HTTPRequest(url: try TestServers.http("/bytes/10")))
        var iterator = response.body.makeAsyncIterator()
        #expect(try await iterator.next() == Data((0..<10).map { UInt8($0) }))
        #expect(try await iterator.next() == nil)
        #expect(try await iterator.next() == nil)
    }

    @Test func droppingTheBodyMidStreamAbortsTheTransfer() async throws {
        let client = HTTPClient(configuration: .init(responseBufferSize: 64 * 1024))
        var transfer: CurlTransfer?
        do {
            let response = try await client.execute(HTTPRequest(url: try TestServers.http("/bytes/\(20 << 20)")))
            transfer = response.body.handle.transfer
            var iterator = response.body.makeAsyncIterator()
            _ = try await iterator.next()
        }
        let outcome = try await waitForOutcome(of: try #require(transfer))
        #expect(outcome?.code == .cancelled)
        #expect(try #require(transfer).receivedByteCount < 20 << 20)
    }

    @Test func discardAbortsTheTransfer() async throws {
        let client = HTTPClient()
        let response = try await client.execute(HTTPRequest(url: try TestServers.http("/stall?seconds=30")))
        #expect(response.status == 200)
        response.body.discard()
        let error = await #expect(throws: HTTPClientError.self) {
            try await response.body.collect(upTo: 100)
        }
        #expect(error?.code == .cancelled)
    }

    @Test func bodyOutlivesItsClientReference() async throws {
        // The body keeps the client, and so its curl thread, alive while it is read.
        var client: HTTPClient? = HTTPClient()
        let response = try await client!.execute(HTTPRequest(url: try TestServers.http("/bytes/\(1 << 20)")))
        client = nil
        let body = try await response.body.collect(upTo: 1 << 20)
        #expect(body.count == 1 << 20)
        #expect(BytePattern.firstMismatch(in: body, startingAt: 0) == nil)
    }

    /// The transfer's error once it has finished, polling for up to 10 s; `nil` for success. Fails if it runs on.
    private func waitForOutcome(of transfer: CurlTransfer) async throws -> HTTPClientError? {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            switch transfer.outcome {
            case .none: try await Task.sleep(for: .milliseconds(20))
            case .success: return nil
            case .failure(let error): return error
            }
        }
        Issue.record("the transfer did not finish within 10 s")
        return nil
    }
}
