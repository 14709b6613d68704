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
        let retryable = configuration.retry.retryableStatuses
        return try await withRetries(request, timeout: timeout, logger: logger) { attempt, remaining in
            let response: HTTPResponse
            do {
                response = try await executeOnce(request, timeout: remaining, attempt: attempt)
            } catch let error as HTTPClientError where error.isTransient && request.body.isReplayable {
                return .transientFailure(error)
            }
            guard request.body.isReplayable, retryable.contains(response.status) else { return .success(response) }
            return .retryableAnswer(
                response, status: response.status,
                retryAfter: RetryPolicy.parseRetryAfter(response.headers["Retry-After"]))
        }
    }

    /// Runs `attempt` as ``Configuration/retry`` allows: the one retry loop of Fanout's clients, for those that
    /// must decide themselves what an attempt is (S3 reads whose body may break off, Kubernetes writes that may not
    /// be repeated).
    ///
    /// Once a call to an endpoint has spent its whole budget and given up, the endpoint is taken as down: later
    /// calls to it get one attempt each until one succeeds, so an outage fails the calls queued behind the first
    /// quickly rather than each after a budget of its own. In ``RetryPolicy/Mode/adaptive`` every attempt first
    /// waits for its turn at the endpoint's rate, which all calls of this client share.
    ///
    /// - Parameters:
    ///   - request: The request the attempts send; its URL names the endpoint.
    ///   - timeout: A deadline for the whole call. `nil` means none.
    ///   - attempt: One attempt, given its number (from 1) and the time left before the deadline.
    /// - Throws: What `attempt` throws; the last transient failure once no retry is left.
    public func withRetries<Value: Sendable>(
        _ request: HTTPRequest,
        timeout: Duration? = nil,
        logger: Logger = HTTPClient.noLogger,
        _ attempt: (_ number: Int, _ remaining: Duration?) async throws -> AttemptOutcome<Value>
    ) async throws -> Value {
        try await configuration.retry.run(
            request: "\(request.method) \(request.url.redactedForLogs)", endpoint: Self.endpoint(of: request.url),
            timeout: timeout, health: health, rates: rates, logger: logger, attempt)
    }

    /// Sends a request once, without retries, and returns when the response headers arrive.
    ///
    /// - Parameter attempt: The attempt's number, recorded in ``HTTPResponse/attempts``.
    /// - Throws: ``HTTPClientError`` when no response could be had.
    public func executeOnce(_ request: HTTPRequest, timeout: Duration? = nil, attempt: Int = 1) async throws
        -> HTTPResponse
    {
        let transfer = try CurlTransfer(request: request, timeout: timeout, configuration: configuration, loop: loop)
        let loop = self.loop
        let head = try await transfer.head { loop.add(transfer) }
        let body = HTTPResponseBody(handle: BodyHandle(transfer: transfer, client: self))
        return HTTPResponse(status: head.status, headers: head.headers, body: body, attempts: attempt)
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

    /// `scheme://host:port`: what an outage is tracked by.
    static func endpoint(of url: URL) -> String {
        let scheme = url.scheme ?? "http"
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        return "\(scheme)://\(url.host ?? ""):\(port)"
    }
}
