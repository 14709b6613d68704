import FanoutHTTP
import FanoutStorage
import FanoutTestSupport
import Foundation
import Testing

/// Cloud Storage requests through a fault proxy of their own in front of fake-gcs-server: the HTTP client's one retry
/// policy answers 503s and resets, and a streamed read that stalls resumes from its first missing byte.
@Suite("GCSClient: retries through the fault proxy", .serialized)
struct GCSRetryTests {
    /// A bucket holding `object` (1000 pattern bytes), written directly; `body` gets a client through a private proxy.
    func withProxiedObject(
        retry: RetryPolicy = RetryPolicy(baseDelay: .milliseconds(20)),
        stallTimeout: Duration? = .seconds(30),
        _ body: (GCSClient, FaultProxy, String) async throws -> Void
    ) async throws {
        try await withTemporaryGCSBucket { bucket in
            try await makeGCSClient().putObject(bucket: bucket, key: "object", data: patternBytes(1000))
            try await FaultProxy.withPrivateProxy(upstream: try TestEnvironment.gcsEmulator) { proxy in
                let client = try makeGCSClient(endpoint: proxy.url, retry: retry, stallTimeout: stallTimeout)
                try await body(client, proxy, bucket)
            }
        }
    }

    @Test("503s and a reset are retried: reads, listings and uploads succeed once the proxy relents")
    func retried() async throws {
        try await withProxiedObject { client, proxy, bucket in
            try await proxy.plan([.status(503), .reset])
            #expect(try await client.getObject(bucket: bucket, key: "object") == patternBytes(1000))
            #expect(try await proxy.stats() == FaultProxy.Stats(requests: 3, faultsServed: 2, pending: 0))

            try await proxy.plan([.status(503, retryAfter: 0)])
            #expect(try await client.listObjects(bucket: bucket, prefix: "").collect().map(\.key) == ["object"])

            try await proxy.plan([.status(500), .status(503)])
            try await client.putObject(bucket: bucket, key: "new", data: Data("fresh".utf8))
            #expect(try await makeGCSClient().getObject(bucket: bucket, key: "new") == Data("fresh".utf8))
            #expect(try await proxy.stats().pending == 0)
        }
    }

    @Test("503 to every attempt: the error says how many attempts were made")
    func givesUp() async throws {
        try await withProxiedObject(retry: RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(10))) {
            client, proxy, bucket in
            try await proxy.plan(Array(repeating: .status(503), count: 3))
            let error = await #expect(throws: ObjectStoreError.self) {
                _ = try await client.getObject(bucket: bucket, key: "object")
            }
            #expect(error?.status == 503)
            #expect(error?.message.contains("to all 3 attempts") == true, "\(String(describing: error))")
        }
    }

    @Test("a streamed read that stalls part-way resumes from the first byte not yet delivered, of the same generation")
    func streamResumes() async throws {
        try await withProxiedObject(stallTimeout: .seconds(1)) { client, proxy, bucket in
            try await proxy.plan([.stall(seconds: 2, afterBytes: 300)])
            var received = Data()
            for try await chunk in try await client.streamObject(bucket: bucket, key: "object", range: 100...899) {
                received.append(chunk)
            }
            #expect(received == patternBytes(1000)[100...899])
            #expect(try await proxy.stats() == FaultProxy.Stats(requests: 2, faultsServed: 1, pending: 0))
        }
    }
}
