import Foundation
public import Logging

extension HTTPClient {
    /// Sends a request and returns as soon as the response headers arrive; the body streams after.
    ///
    /// Transient failures and retryable statuses are retried following ``Configuration/retry`` when the body can
    /// be sent again. A response with any status is a result, not a thrown error: when retries run out on a
    /// retryable status, that last response is returned.
    ///
    /// - Parameters:
    ///   - request: What to send.
    ///   - timeout: A deadline for the whole call, retries and body included. `nil` means none.
    ///   - logger: Where attempts and retries are logged, at debug level.
    /// - Throws: ``HTTPClientError`` when no response could be had.
    public func execute(
        _ request: HTTPRequest,
        timeout: Duration? = nil,
        logger: Logger = HTTPClient.noLogger
    ) async throws -> HTTPResponse {
        let policy = configuration.retry
        let clock = ContinuousClock()
        let start = clock.now
        var attempt = 0
        while true {
            attempt += 1
            let remaining = timeout.map { $0 - (clock.now - start) }
            if let remaining, remaining <= .zero {
                throw HTTPClientError(
                    code: .timedOut, message: "the deadline of \(timeout!) passed",
                    request: "\(request.method) \(request.url.redactedForLogs)", attempts: attempt - 1)
            }
            let canRetry = request.body.isReplayable && attempt < policy.maxAttempts
            do {
                let response = try await executeOnce(request, timeout: remaining, attempt: attempt)
                guard canRetry, policy.retryableStatuses.contains(response.status) else { return response }
                let retryAfter = RetryPolicy.parseRetryAfter(response.headers["Retry-After"])
                let delay = policy.delay(afterAttempt: attempt, retryAfter: retryAfter)
                guard clock.now - start + delay < min(policy.budget, timeout ?? policy.budget) else { return response }
                _ = try? await response.body.collect(upTo: 1 << 16)
                logger.debug(
                    "retrying after status",
                    metadata: [
                        "request": "\(request.method) \(request.url.redactedForLogs)", "status": "\(response.status)",
                        "attempt": "\(attempt)", "delay": "\(delay)",
                    ])
                try await sleepBeforeRetry(delay, request: request, attempts: attempt)
            } catch let error as HTTPClientError {
                let deadlinePassed = timeout.map { clock.now - start >= $0 } ?? false
                guard canRetry, error.isTransient, !deadlinePassed else { throw error.with(attempts: attempt) }
                let delay = policy.delay(afterAttempt: attempt, retryAfter: nil)
                guard clock.now - start + delay < min(policy.budget, timeout ?? policy.budget) else {
                    throw error.with(attempts: attempt)
                }
                logger.debug(
                    "retrying after transport error",
                    metadata: [
                        "request": "\(request.method) \(request.url.redactedForLogs)", "error": "\(error.message)",
                        "attempt": "\(attempt)", "delay": "\(delay)",
                    ])
                try await sleepBeforeRetry(delay, request: request, attempts: attempt)
            }
        }
    }

    /// Waits out a backoff; cancellation ends the call as ``HTTPClientError/Code/cancelled``, like cancellation
    /// during an attempt.
    private func sleepBeforeRetry(_ delay: Duration, request: HTTPRequest, attempts: Int) async throws {
        do {
            try await Task.sleep(for: delay)
        } catch {
            throw HTTPClientError(
                code: .cancelled, message: "cancelled while waiting to retry",
                request: "\(request.method) \(request.url.redactedForLogs)", attempts: attempts)
        }
    }

    /// Sends a request and collects the whole response body.
    ///
    /// - Parameter maxBodyBytes: A larger body throws ``HTTPClientError/Code/bodyTooLarge``. Default 64 MiB.
    public func send(
        _ request: HTTPRequest,
        timeout: Duration? = nil,
        maxBodyBytes: Int = 64 << 20,
        logger: Logger = HTTPClient.noLogger
    ) async throws -> HTTPFullResponse {
        let response = try await execute(request, timeout: timeout, logger: logger)
        let body = try await response.body.collect(upTo: maxBodyBytes)
        return HTTPFullResponse(status: response.status, headers: response.headers, body: body, attempts: response.attempts)
    }

    private func executeOnce(_ request: HTTPRequest, timeout: Duration?, attempt: Int) async throws -> HTTPResponse {
        let transfer = try CurlTransfer(request: request, timeout: timeout, configuration: configuration, loop: loop)
        let loop = self.loop
        let head = try await transfer.head { loop.add(transfer) }
        let body = HTTPResponseBody(handle: BodyHandle(transfer: transfer, client: self))
        return HTTPResponse(status: head.status, headers: head.headers, body: body, attempts: attempt)
    }
}
