import Foundation
import Testing

@testable import FanoutHTTP

/// `execute` and `send` end to end: retries, deadlines, stalls, refused connections and cancellation.
///
/// Timing assertions are loose upper bounds that only catch a call that fails to fail fast, or lower bounds that a
/// sleep guarantees.
@Suite(.serialized) struct HTTPClientExecuteTests {
    /// Quick retries, so tests that exhaust them stay short.
    static let quickRetry = RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(10), maxDelay: .milliseconds(100))

    // MARK: Retries

    @Test func flakyEndpointSucceedsOnTheThirdAttempt() async throws {
        let client = HTTPClient(configuration: .init(retry: Self.quickRetry))
        let response = try await client.send(HTTPRequest(url: try TestServers.http("/flaky/\(UUID().uuidString)/2")))
        #expect(response.status == 200)
        #expect(response.bodyText == "ok")
        #expect(response.attempts == 3)
    }

    @Test func retriesRunOutOnTheLastResponse() async throws {
        let client = HTTPClient(configuration: .init(retry: RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(1))))
        let response = try await client.send(HTTPRequest(url: try TestServers.http("/flaky/\(UUID().uuidString)/10")))
        #expect(response.status == 503)
        #expect(response.attempts == 3)
        #expect(response.headers["Retry-After"] == "0")
    }

    @Test func singleAttemptReturnsTheRetryableStatus() async throws {
        let client = HTTPClient(configuration: .init(retry: RetryPolicy(maxAttempts: 1)))
        let response = try await client.send(HTTPRequest(url: try TestServers.http("/flaky/\(UUID().uuidString)/2")))
        #expect(response.status == 503)
        #expect(response.bodyText == "try again\n")
        #expect(response.attempts == 1)
    }

    @Test func nonRetryableStatusIsReturnedAtOnce() async throws {
        let client = HTTPClient(configuration: .init(retry: Self.quickRetry))
        let response = try await client.send(HTTPRequest(url: try TestServers.http("/status/404")))
        #expect(response.status == 404)
        #expect(response.attempts == 1)
    }

    @Test func retryableStatusesAreConfigurable() async throws {
        var policy = Self.quickRetry
        policy.maxAttempts = 3
        policy.retryableStatuses = [418]
        let client = HTTPClient(configuration: .init(retry: policy))
        let teapot = try await client.send(HTTPRequest(url: try TestServers.http("/status/418")))
        #expect(teapot.attempts == 3)
        let unavailable = try await client.send(HTTPRequest(url: try TestServers.http("/status/503")))
        #expect(unavailable.attempts == 1)
    }

    @Test func retryAfterIsHonoured() async throws {
        let client = HTTPClient(
            configuration: .init(retry: RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(1), random: { 0 })))
        let start = ContinuousClock.now
        let response = try await client.send(HTTPRequest(url: try TestServers.http("/status/503?retry_after=1")))
        #expect(response.attempts == 2)
        #expect(ContinuousClock.now - start >= .seconds(1), "the second attempt waited for Retry-After")
    }

    @Test func noRetryStartsPastTheBudget() async throws {
        let client = HTTPClient(
            configuration: .init(retry: RetryPolicy(maxDelay: .seconds(60), budget: .milliseconds(500))))
        let start = ContinuousClock.now
        let response = try await client.send(HTTPRequest(url: try TestServers.http("/status/503?retry_after=30")))
        #expect(response.status == 503)
        #expect(response.attempts == 1)
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test func retriesStopAtTheCallDeadline() async throws {
        let client = HTTPClient(
            configuration: .init(retry: RetryPolicy(maxDelay: .seconds(60), budget: .seconds(60))))
        let start = ContinuousClock.now
        let response = try await client.send(
            HTTPRequest(url: try TestServers.http("/status/503?retry_after=30")), timeout: .seconds(2))
        #expect(response.status == 503)
        #expect(response.attempts == 1)
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    // MARK: Refused connections

    @Test func closedPortFailsFastAfterRetries() async throws {
        let port = try TestServers.closedPort()
        // The default schedule at a tenth of its durations: refused connections stop at the unreachable budget.
        let policy = RetryPolicy.default.scaled(by: 0.1)
        let client = HTTPClient(configuration: .init(retry: policy))
        let start = ContinuousClock.now
        let error = await #expect(throws: HTTPClientError.self) {
            try await client.send(HTTPRequest(url: URL(string: "http://127.0.0.1:\(port)/")!))
        }
        let elapsed = ContinuousClock.now - start
        #expect(error?.code == .connectionFailed)
        #expect(error?.isTransient == true)
        #expect((error?.attempts ?? 0) > 1)
        #expect((error?.attempts ?? .max) < policy.maxAttempts)
        #expect(error?.message.contains("127.0.0.1:\(port) still failing after") == true)
        #expect(error?.curlCode != nil)
        #expect(error?.description.contains("Check that the endpoint URL is right") == true)
        #expect(elapsed < policy.budget)
    }

    @Test func closedPortWithoutRetries() async throws {
        let port = try TestServers.closedPort()
        let client = HTTPClient(configuration: .init(retry: .never))
        let error = await #expect(throws: HTTPClientError.self) {
            try await client.send(HTTPRequest(url: URL(string: "http://127.0.0.1:\(port)/")!))
        }
        #expect(error?.code == .connectionFailed)
        #expect(error?.attempts == 1)
    }

    // MARK: Deadlines and stalls

    @Test("The call's deadline ends a stalled body", arguments: ["/stall?seconds=30", "/slow-headers?seconds=30"])
    func deadlinePasses(path: String) async throws {
        let client = HTTPClient(configuration: .init(retry: Self.quickRetry))
        let start = ContinuousClock.now
        let error = await #expect(throws: HTTPClientError.self) {
            try await client.send(HTTPRequest(url: try TestServers.http(path)), timeout: .seconds(1))
        }
        #expect(error?.code == .timedOut)
        #expect(error?.attempts == 1, "a passed deadline is not retried")
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test func deadlineCoversTheBodyAfterExecuteReturns() async throws {
        let client = HTTPClient()
        let response = try await client.execute(
            HTTPRequest(url: try TestServers.http("/stall?seconds=30")), timeout: .seconds(1))
        #expect(response.status == 200)
        let error = await #expect(throws: HTTPClientError.self) { try await response.body.collect(upTo: 100) }
        #expect(error?.code == .timedOut)
    }

    @Test func stallTimeoutEndsADrip() async throws {
        let client = HTTPClient(configuration: .init(stallTimeout: .seconds(1), retry: .never))
        let start = ContinuousClock.now
        let error = await #expect(throws: HTTPClientError.self) {
            try await client.send(HTTPRequest(url: try TestServers.http("/drip?bytes=5&delay=4")))
        }
        #expect(error?.code == .timedOut)
        #expect(ContinuousClock.now - start < .seconds(15))
    }

    @Test func stallWaitingForHeadersIsRetried() async throws {
        let client = HTTPClient(
            configuration: .init(stallTimeout: .seconds(1), retry: RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(1))))
        let error = await #expect(throws: HTTPClientError.self) {
            try await client.send(HTTPRequest(url: try TestServers.http("/slow-headers?seconds=30")))
        }
        #expect(error?.code == .timedOut)
        #expect(error?.attempts == 2)
    }

    @Test func dripFasterThanTheStallTimeoutCompletes() async throws {
        let client = HTTPClient(configuration: .init(stallTimeout: .seconds(2)))
        let response = try await client.send(HTTPRequest(url: try TestServers.http("/drip?bytes=5&delay=0.1")))
        #expect(response.status == 200)
        #expect(response.body == Data([0, 1, 2, 3, 4]))
    }

    // MARK: Cancellation

    @Test("Cancelling the awaiting task ends the call promptly", arguments: [
        "/stall?seconds=30", "/slow-headers?seconds=30",
    ])
    func cancellation(path: String) async throws {
        let client = HTTPClient()
        let url = try TestServers.http(path)
        let task = Task { try await client.send(HTTPRequest(url: url)) }
        try await Task.sleep(for: .milliseconds(300))
        let cancelled = ContinuousClock.now
        task.cancel()
        let result = await task.result
        #expect(ContinuousClock.now - cancelled < .seconds(5))
        #expect(throws: HTTPClientError.self) { try result.get() }
        if case .failure(let error as HTTPClientError) = result {
            #expect(error.code == .cancelled)
            #expect(!error.isTransient)
        }
    }

    @Test func cancellationBeforeTheCall() async throws {
        let client = HTTPClient()
        let url = try TestServers.http("/slow-headers?seconds=30")
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await client.send(HTTPRequest(url: url))
        }
        let result = await task.result
        if case .failure(let error as HTTPClientError) = result {
            #expect(error.code == .cancelled)
        } else {
            Issue.record("expected HTTPClientError.cancelled, got \(result)")
        }
    }

    @Test func cancellationDuringRetryBackoff() async throws {
        let client = HTTPClient(
            configuration: .init(retry: RetryPolicy(maxDelay: .seconds(60), budget: .seconds(120))))
        let url = try TestServers.http("/status/503?retry_after=30")
        let task = Task { try await client.send(HTTPRequest(url: url)) }
        try await Task.sleep(for: .milliseconds(500))
        let cancelled = ContinuousClock.now
        task.cancel()
        let result = await task.result
        #expect(ContinuousClock.now - cancelled < .seconds(5))
        if case .failure(let error as HTTPClientError) = result {
            #expect(error.code == .cancelled)
        } else {
            Issue.record("expected HTTPClientError.cancelled, got \(result)")
        }
    }

    @Test func clientKeepsWorkingAfterCancellations() async throws {
        let client = HTTPClient()
        let url = try TestServers.http("/slow-headers?seconds=30")
        for _ in 0..<5 {
            let task = Task { try await client.send(HTTPRequest(url: url)) }
            try await Task.sleep(for: .milliseconds(50))
            task.cancel()
            _ = await task.result
        }
        let response = try await client.send(HTTPRequest(url: try TestServers.http("/bytes/1000")))
        #expect(response.body.count == 1000)
    }
}
