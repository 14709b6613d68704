import FanoutHTTP
import FanoutStorage
import FanoutTestSupport
import Foundation
import Testing

/// The adaptive request rate against moto behind a private fault proxy that throttles as S3 does: above a rate, a
/// prefix's requests are answered `503 SlowDown`. Counts at the proxy, never durations.
///
/// Plain retries must send faster than the throttle for the comparison to mean anything, also on a machine busy
/// with the whole suite and more: with the default backoffs they once met a throttle of 40 a second 5 times in 200
/// requests, one of 10 a second 19 times in 60 (load average 11 on 2 cores), and 23 times in 60 in a whole suite on
/// a fresh clone. So the rate is low (4 a second), the proxy and moto are the test's own, and both modes back off
/// from 10 ms to at most 200 ms (a tenth of the defaults), so plain retries knock often whatever the machine's
/// speed; only the mode differs. The adaptive rate's knocks are bounded by its first round (every request in
/// flight before the first answer) and a few more while it settles, however many requests follow.
@Suite("S3Client: a request rate that adapts to throttling", .serialized)
struct S3ThrottlingTests {
    static let requests = 40
    static let inFlight = 16
    static let rate = 4.0

    /// PUTs `requests` small objects, `inFlight` at a time, through a proxy throttling at `rate` a second (a burst of
    /// 5) with a fresh client in `mode` and short backoffs; returns the proxy's counts and the keys moto holds after.
    func putThroughTheThrottle(
        _ mode: RetryPolicy.Mode, proxy: FaultProxy, bucket: String
    ) async throws -> (stats: FaultProxy.Stats, stored: Int) {
        let retry = RetryPolicy(mode: mode, baseDelay: .milliseconds(10), maxDelay: .milliseconds(200))
        let client = try makeS3Client(endpoint: proxy.url, retry: retry)
        try await proxy.reset()
        try await proxy.throttle(rate: Self.rate, burst: 5)
        let prefix = "\(mode)/"
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<Self.requests {
                if index >= Self.inFlight { try await group.next() }
                group.addTask {
                    try await client.putObject(bucket: bucket, key: "\(prefix)\(index)", data: Data("\(index)".utf8))
                }
            }
            try await group.waitForAll()
        }
        let stats = try await proxy.stats()
        var stored = 0
        for try await _ in try makeS3Client(endpoint: proxy.upstream).listObjects(bucket: bucket, prefix: prefix) {
            stored += 1
        }
        return (stats, stored)
    }

    @Test("With 16 in flight against 4 a second, every PUT succeeds, and adaptive gets fewer SlowDowns")
    func adaptiveKeepsSlowDownsFarUnderPlainRetries() async throws {
        try await FaultProxy.withPrivateProxy(ownS3: true) { proxy in
            try await withTemporaryBucket(client: try makeS3Client(endpoint: proxy.upstream)) { bucket in
                let plain = try await putThroughTheThrottle(.standard, proxy: proxy, bucket: bucket)
                let adaptive = try await putThroughTheThrottle(.adaptive, proxy: proxy, bucket: bucket)
                for run in [plain, adaptive] {
                    #expect(run.stored == Self.requests)
                    #expect(run.stats.requests - run.stats.throttled == Self.requests)
                }
                // Plain retries keep 16 requests at the throttle; the adaptive rate settles just under it.
                #expect(adaptive.stats.throttled < plain.stats.throttled, "\(adaptive.stats) against \(plain.stats)")
                #expect(adaptive.stats.throttled <= Self.inFlight + Self.requests / 3, "\(adaptive.stats)")
            }
        }
    }
}
