import FanoutHTTP
@testable import FanoutStorage
import FanoutTestSupport
import Foundation
import Testing

/// Retries against real failures: the fault proxy in front of moto answers 503s, drops connections and stalls on
/// request. Serialized, because the proxy's fault queue is shared by everything that goes through it.
@Suite("S3Client: retries through the fault proxy", .serialized)
struct S3RetryTests {
    let proxy: FaultProxy

    init() throws {
        proxy = try FaultProxy()
    }

    /// A bucket holding `key` with `data`, created directly on moto; `body` gets a client that goes through the
    /// proxy, whose queue and counters are reset first.
    func withProxiedObject(
        key: String = "object",
        data: Data = patternBytes(1000),
        retry: RetryPolicy = RetryPolicy(baseDelay: .milliseconds(20)),
        stallTimeout: Duration? = .seconds(30),
        _ body: (S3Client, String) async throws -> Void
    ) async throws {
        try await withTemporaryBucket { bucket in
            try await makeS3Client().putObject(bucket: bucket, key: key, data: data)
            let proxied = try makeS3Client(endpoint: proxy.url, retry: retry, stallTimeout: stallTimeout)
            try await proxy.reset()
            do {
                try await body(proxied, bucket)
            } catch {
                try? await proxy.reset()
                throw error
            }
            try await proxy.reset()
        }
    }

    @Test("503 SlowDown twice, then success: three attempts, Retry-After honoured")
    func slowDownThenSuccess() async throws {
        try await withProxiedObject { client, bucket in
            try await proxy.plan([.status(503, code: "SlowDown", retryAfter: 1), .status(503, code: "SlowDown")])
            let start = ContinuousClock.now
            let response = try await client.send(.get, bucket: bucket, key: "object")
            #expect(ContinuousClock.now - start >= .seconds(1))
            #expect(response.attempts == 3)
            #expect(response.body == patternBytes(1000))
            let stats = try await proxy.stats()
            #expect(stats == FaultProxy.Stats(requests: 3, faultsServed: 2, pending: 0))
        }
    }

    @Test("a dropped connection is retried")
    func droppedConnection() async throws {
        try await withProxiedObject { client, bucket in
            try await proxy.plan([.drop()])
            #expect(try await client.getObject(bucket: bucket, key: "object") == patternBytes(1000))
            let stats = try await proxy.stats()
            #expect(stats.requests == 2)
            #expect(stats.faultsServed == 1)
        }
    }

    @Test("a PUT whose answer was lost is sent again and lands once")
    func droppedAfterUpstream() async throws {
        try await withProxiedObject { client, bucket in
            try await proxy.plan([.drop(afterUpstream: true)])
            try await client.putObject(bucket: bucket, key: "again", data: Data("v2".utf8))
            #expect(try await client.getObject(bucket: bucket, key: "again") == Data("v2".utf8))
            #expect(try await proxy.stats().requests == 3)
        }
    }

    @Test("a server silent before its headers, past the stall timeout, is retried")
    func stallBeforeHeaders() async throws {
        try await withProxiedObject(stallTimeout: .seconds(1)) { client, bucket in
            try await proxy.plan([.stallBeforeHeaders(seconds: 4)])
            let start = ContinuousClock.now
            #expect(try await client.getObject(bucket: bucket, key: "object") == patternBytes(1000))
            #expect(ContinuousClock.now - start < .seconds(4))
            #expect(try await proxy.stats() == FaultProxy.Stats(requests: 2, faultsServed: 1, pending: 0))
        }
    }

    @Test("a body that stalls past the stall timeout is fetched again")
    func stallInBody() async throws {
        try await withProxiedObject(stallTimeout: .seconds(1)) { client, bucket in
            try await proxy.plan([.stall(seconds: 4)])
            let start = ContinuousClock.now
            #expect(try await client.getObject(bucket: bucket, key: "object") == patternBytes(1000))
            #expect(ContinuousClock.now - start < .seconds(4))
            #expect(try await proxy.stats().requests == 2)
        }
    }

    @Test("a streamed body that stalls part-way is resumed from the first byte not yet delivered")
    func streamedBodyResumes() async throws {
        try await withProxiedObject(stallTimeout: .seconds(1)) { client, bucket in
            try await proxy.plan([.stall(seconds: 4, afterBytes: 300)])
            var received = Data()
            for try await chunk in try await client.streamObject(bucket: bucket, key: "object") {
                received.append(chunk)
            }
            #expect(received == patternBytes(1000))
            #expect(try await proxy.stats() == FaultProxy.Stats(requests: 2, faultsServed: 1, pending: 0))
        }
    }

    @Test("a streamed range that breaks off is resumed within its range")
    func streamedRangeResumes() async throws {
        try await withProxiedObject(stallTimeout: .seconds(1)) { client, bucket in
            try await proxy.plan([.stall(seconds: 4, afterBytes: 50)])
            var received = Data()
            for try await chunk in try await client.streamObject(bucket: bucket, key: "object", range: 100...399) {
                received.append(chunk)
            }
            #expect(received == patternBytes(1000)[100...399])
            #expect(try await proxy.stats().requests == 2)
        }
    }

    @Test("50 connection resets in a row: one request lives through them with the default policy")
    func fiftyResetsInARow() async throws {
        try await withProxiedObject(retry: RetryPolicy.default.scaled(by: 0.1)) { client, bucket in
            try await proxy.plan(Array(repeating: .reset, count: 50))
            let response = try await client.send(.get, bucket: bucket, key: "object")
            #expect(response.body == patternBytes(1000))
            #expect(response.attempts == 51)
            #expect(try await proxy.stats() == FaultProxy.Stats(requests: 51, faultsServed: 50, pending: 0))
        }
    }

    @Test("503s until the attempts run out: throttled, with the hint")
    func attemptsExhausted() async throws {
        try await withProxiedObject(retry: RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(10))) {
            client, bucket in
            try await proxy.plan(Array(repeating: .status(503, code: "SlowDown"), count: 5))
            let error = await #expect(throws: ObjectStoreError.self) {
                _ = try await client.getObject(bucket: bucket, key: "object")
            }
            #expect(error?.code == .throttled)
            #expect(error?.status == 503)
            #expect(error?.hint?.contains("fewer requests") == true)
            #expect(try await proxy.stats().requests == 3)
        }
    }

    @Test("503s until the time budget is spent: throttled, without waiting past the budget")
    func budgetExhausted() async throws {
        let retry = RetryPolicy(maxAttempts: 100, baseDelay: .milliseconds(10), budget: .milliseconds(1500))
        try await withProxiedObject(retry: retry) { client, bucket in
            try await proxy.plan(Array(repeating: .status(503, code: "SlowDown", retryAfter: 1), count: 10))
            let start = ContinuousClock.now
            let error = await #expect(throws: ObjectStoreError.self) {
                try await client.putObject(bucket: bucket, key: "k", data: Data("x".utf8))
            }
            #expect(ContinuousClock.now - start < .milliseconds(1500))
            #expect(error?.code == .throttled)
            #expect(error?.hint?.contains("fewer requests") == true)
            #expect(try await proxy.stats().requests == 2)
        }
    }

    @Test("a closed port fails fast with transport, well under the retry budget")
    func closedPort() async throws {
        let port = try closedLoopbackPort()
        let endpoint = try #require(URL(string: "http://127.0.0.1:\(port)"))
        // The default schedule at a tenth of its durations: refused connections stop at the unreachable budget.
        let retry = RetryPolicy.default.scaled(by: 0.1)
        let client = try makeS3Client(endpoint: endpoint, retry: retry)
        let start = ContinuousClock.now
        let error = await #expect(throws: ObjectStoreError.self) {
            _ = try await client.getObject(bucket: "b", key: "k")
        }
        let elapsed = ContinuousClock.now - start
        #expect(elapsed < retry.budget, "took \(elapsed); the budget is \(retry.budget)")
        #expect(error?.code == .transport)
        #expect(error?.hint?.contains("127.0.0.1:\(port)") == true)
        #expect((error?.underlying as? HTTPClientError)?.code == .connectionFailed)
    }
}

/// A loopback port nothing listens on: bound, then closed.
func closedLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EMFILE) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
            bind(fd, address, length) == 0 && getsockname(fd, address, &length) == 0
        }
    }
    guard bound else { throw POSIXError(.EADDRINUSE) }
    return Int(UInt16(bigEndian: address.sin_port))
}
