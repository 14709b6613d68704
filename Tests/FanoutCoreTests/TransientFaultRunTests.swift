import FanoutHTTP
import FanoutStorage
import FanoutTestSupport
import FanoutTestSteps
import Foundation
import Testing

@testable import FanoutCore

/// Runs over S3 data through a fault proxy of their own, on the in-process and the processes backends, at a tenth
/// of the full-size figures (`RetryPolicyRunTests` proves those on a virtual clock with the same loop): 3 s of
/// `503 SlowDown`, two 9 s stalls against a 6 s stall threshold, and 50 connection resets each end with the exact
/// aggregate; an outage that never ends fails the run with a message naming the endpoint.
@Suite("Runs through transient S3 trouble", .serialized)
struct TransientFaultRunTests {
    /// The HTTP client's defaults at a tenth of their durations.
    static let stallTimeout = Duration.seconds(6)
    static let retry = RetryPolicy.default.scaled(by: 0.1)
    static let shardBackoff = ShardBackoff(baseDelay: .milliseconds(100), maxDelay: .seconds(3))
    static let fileCount = 40

    enum BackendKind: String, CaseIterable, CustomTestStringConvertible {
        case inProcess, processes
        var testDescription: String { rawValue }
    }

    enum Trouble: String, CaseIterable, CustomTestStringConvertible {
        case slowDown, stalls, resets, allInOneRun
        var testDescription: String { rawValue }

        var faults: [FaultProxy.Fault] {
            switch self {
            case .slowDown: [.lasting(.status(503, code: "SlowDown"), seconds: 3)]
            case .stalls: [.stall(seconds: 9), .stallBeforeHeaders(seconds: 9)]
            case .resets: Array(repeating: .reset, count: 50)
            case .allInOneRun: Trouble.slowDown.faults + Trouble.stalls.faults + Trouble.resets.faults
            }
        }
    }

    static func contents(_ key: String) -> Data {
        Data(String(repeating: key, count: 1 + key.count % 7).utf8)
    }

    /// A bucket holding the corpus (written straight to moto), and a Fanout whose S3 traffic, the workers'
    /// included, goes through `proxy`.
    func withCorpus(
        proxy: FaultProxy, backend kind: BackendKind, _ body: (Fanout, String, Int) async throws -> Void
    ) async throws {
        try await withTemporaryBucket { bucket in
            let keys = (0..<Self.fileCount).map { "data/file-\($0).txt" }
            try await putObjects(keys, into: try makeS3Client().store(bucket: bucket), contents: Self.contents)
            let expected = keys.map { Self.contents($0).count }.reduce(0, +)
            let s3 = try makeS3Client(endpoint: proxy.url, retry: Self.retry, stallTimeout: Self.stallTimeout)
            let backend: any Backend
            switch kind {
            case .inProcess: backend = InProcessBackend(parallelism: 2)
            case .processes:
                var processes = try TestWorker.backend(workers: 2)
                processes.environment = [
                    "AWS_ENDPOINT_URL_S3": proxy.url.absoluteString,
                    HTTPClient.Configuration.EnvironmentVariable.stallTimeout: "\(Self.stallTimeout.inSeconds)",
                    HTTPClient.Configuration.EnvironmentVariable.retryBudget: "\(Self.retry.budget.inSeconds)",
                    HTTPClient.Configuration.EnvironmentVariable.maxDelay: "\(Self.retry.maxDelay.inSeconds)",
                ]
                backend = processes
            }
            let options = RunOptions(
                backend: backend, sharding: .shards(4), cache: false, shardBackoff: Self.shardBackoff,
                pollInterval: .milliseconds(100))
            try await proxy.reset()
            try await body(Fanout(options: options, s3: s3), bucket, expected)
        }
    }

    @Test("Transient trouble during a run: every file succeeds once, the aggregate is exact",
        arguments: BackendKind.allCases, Trouble.allCases)
    func troubleIsLivedThrough(backend: BackendKind, trouble: Trouble) async throws {
        try await FaultProxy.withPrivateProxy { proxy in
            try await withCorpus(proxy: proxy, backend: backend) { fanout, bucket, expected in
                // With stalls among the faults the files are streamed, so a stalled body is resumed where it
                // stopped; the state store's reads are read whole and retried whole.
                let streamed = trouble == .stalls || trouble == .allInOneRun
                let step = streamed ? TestSteps.streamedByteCount : TestSteps.byteCount
                let run = try await fanout.map(step, over: Input("s3://\(bucket)/data/"))
                // Listing and planning are done: the faults hit the shards' reads and writes and the driver.
                try await proxy.plan(trouble.faults)
                let outcomes = try await collect(run)
                #expect(outcomes.count == Self.fileCount)
                #expect(outcomes.values.allSatisfy { $0.failure == nil }, "\(outcomes.values.compactMap(\.failure))")
                #expect(outcomes.values.compactMap(\.value).reduce(0, +) == expected)
                #expect(run.summary?.failed == 0)
                let stats = try await proxy.stats()
                #expect(stats.pending == 0, "every fault was met")
                switch trouble {
                case .slowDown: #expect(stats.faultsServed > 3)
                case .stalls: #expect(stats.faultsServed == 2)
                case .resets: #expect(stats.faultsServed == 50)
                case .allInOneRun: #expect(stats.faultsServed > 55)
                }
            }
        }
    }

    @Test("An outage that never ends fails the run, naming the endpoint")
    func endlessOutageFailsTheRun() async throws {
        try await FaultProxy.withPrivateProxy { proxy in
            try await withCorpus(proxy: proxy, backend: .inProcess) { fanout, bucket, _ in
                let run = try await fanout.map(TestSteps.byteCount, over: Input("s3://\(bucket)/data/"))
                try await proxy.plan([.lasting(.reset, seconds: -1)])
                let endpoint = "127.0.0.1:\(proxy.url.port ?? 0)"
                // Every message names the endpoint and says it was retried for a whole budget, or not retried
                // because another request already had been.
                func explains(_ message: String) -> Bool {
                    message.contains(endpoint)
                        && (message.contains("still failing after") || message.contains("is taken as down"))
                }
                do {
                    let outcomes = try await collect(run)
                    let failures = outcomes.values.compactMap(\.failure)
                    #expect(!failures.isEmpty)
                    #expect(failures.allSatisfy { explains($0.message) }, "\(failures)")
                } catch {
                    #expect(explains("\(error)"), "\(error)")
                }
                try await proxy.reset()
            }
        }
    }
}
