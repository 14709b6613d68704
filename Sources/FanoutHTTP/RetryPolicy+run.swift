import Logging

extension RetryPolicy {
    /// Runs `attempt` until it succeeds or the policy gives up: the retry loop every client shares.
    ///
    /// - Parameters:
    ///   - request: The method and URL, for messages and logs.
    ///   - endpoint: Scheme, host and port; an endpoint marked down in `health` gets no retries.
    ///   - timeout: A deadline for the whole call, retries included. `nil` means none.
    ///   - rates: The client's rates per endpoint, which pace every attempt in ``Mode/adaptive``; `nil` paces none.
    ///   - attempt: One attempt, given its number (from 1) and the time left before the deadline.
    /// - Returns: The value of the first success, or the last retryable answer when no retry is left.
    /// - Throws: What `attempt` throws; the last transient failure when no retry is left, with a message that
    ///   names the endpoint and says how long it was tried; ``HTTPClientError/Code/cancelled`` when cancelled
    ///   during a backoff or while waiting for its turn at the endpoint's rate.
    func run<Value: Sendable>(
        request: String,
        endpoint: String,
        timeout: Duration?,
        health: EndpointHealth?,
        rates: EndpointRates? = nil,
        logger: Logger,
        _ attempt: (_ number: Int, _ remaining: Duration?) async throws -> AttemptOutcome<Value>
    ) async throws -> Value {
        let start = clock.now()
        let limit = min(budget, timeout ?? budget)
        var number = 0
        var reachedServer = false
        let rates = mode == .adaptive ? rates : nil
        while true {
            number += 1
            var askedAt = clock.now()
            if let rates {
                askedAt = try await waitForTurn(at: rates, endpoint: endpoint, request: request, attempts: number - 1)
            }
            let remaining = timeout.map { $0 - (clock.now() - start) }
            if let remaining, remaining <= .zero {
                throw HTTPClientError(
                    code: .timedOut, message: "the deadline of \(timeout!) passed", request: request,
                    attempts: number - 1)
            }
            let outcome = try await attempt(number, remaining)
            if let rates, outcome.isThrottling(throttlingStatuses) {
                let rate = rates.record(endpoint, throttled: true, askedAt: askedAt, now: clock.now())
                logger.debug(
                    "throttled", metadata: ["request": "\(request)", "rate": "\(Int(rate.rounded())) requests/s"])
            } else {
                rates?.record(endpoint, throttled: false, askedAt: askedAt, now: clock.now())
            }
            if case .transientFailure(let error) = outcome, error.code == .connectionFailed {} else {
                reachedServer = true
            }
            let currentLimit = reachedServer ? limit : min(limit, unreachableBudget)
            let retryAfter: Duration?
            let reason: String
            switch outcome {
            case .success(let value):
                health?.markUp(endpoint)
                return value
            case .retryableAnswer(let value, let status, let after):
                guard let delay = nextDelay(after: number, retryAfter: after, start: start, limit: currentLimit,
                    endpoint: endpoint, health: health)
                else {
                    if number > 1 { health?.markDown(endpoint) }
                    return value
                }
                // A streaming answer is read to its end (it is small), so its connection can serve the next attempt.
                if let response = value as? HTTPResponse { _ = try? await response.body.collect(upTo: 1 << 16) }
                (retryAfter, reason) = (delay, "status \(status)")
            case .transientFailure(let error):
                guard let delay = nextDelay(after: number, retryAfter: nil, start: start, limit: currentLimit,
                    endpoint: endpoint, health: health)
                else {
                    if number > 1 { health?.markDown(endpoint) }
                    throw givingUp(
                        error, attempts: number, elapsed: clock.now() - start, endpoint: endpoint,
                        endpointDown: health?.isDown(endpoint) == true)
                }
                (retryAfter, reason) = (delay, error.message)
            }
            logger.debug(
                "retrying",
                metadata: [
                    "request": "\(request)", "reason": "\(reason)", "attempt": "\(number)", "delay": "\(retryAfter!)",
                ])
            try await pause(retryAfter!, for: "a retry", request: request, attempts: number)
        }
    }

    /// Waits for an attempt's turn at the endpoint's rate, asking again when a decrease of the rate cancelled the
    /// turn meanwhile.
    ///
    /// - Returns: When the turn that stands was asked for.
    private func waitForTurn(
        at rates: EndpointRates, endpoint: String, request: String, attempts: Int
    ) async throws -> Duration {
        while true {
            let askedAt = clock.now()
            let turn = rates.reserve(endpoint, now: askedAt)
            guard turn.wait > .zero else { return askedAt }
            try await pause(turn.wait, for: "its turn at the endpoint's rate", request: request, attempts: attempts)
            if rates.isCurrent(turn, of: endpoint) { return askedAt }
        }
    }

    /// Sleeps before an attempt, throwing ``HTTPClientError/Code/cancelled`` when cancelled.
    private func pause(_ duration: Duration, for reason: String, request: String, attempts: Int) async throws {
        do {
            try await clock.sleep(duration)
        } catch {
            throw HTTPClientError(
                code: .cancelled, message: "cancelled while waiting for \(reason)", request: request,
                attempts: attempts)
        }
    }

    /// The backoff before the next attempt, or `nil` when none may start: attempts or budget spent, the deadline
    /// near, or the endpoint marked down by a request that gave up.
    private func nextDelay(
        after number: Int, retryAfter: Duration?, start: Duration, limit: Duration, endpoint: String,
        health: EndpointHealth?
    ) -> Duration? {
        guard number < maxAttempts, health?.isDown(endpoint) != true, !Task.isCancelled else { return nil }
        let delay = delay(afterAttempt: number, retryAfter: retryAfter)
        guard clock.now() - start + delay < limit else { return nil }
        return delay
    }

    /// The last failure, saying how long the endpoint was tried, or that it was not retried because an earlier
    /// request found it down.
    private func givingUp(
        _ error: HTTPClientError, attempts: Int, elapsed: Duration, endpoint: String, endpointDown: Bool
    ) -> HTTPClientError {
        let budgetText = "\(Int(budget.inSeconds.rounded())) s"
        let explanation: String
        if attempts > 1 {
            explanation = "\(endpoint) still failing after \(Int(elapsed.inSeconds.rounded())) s of retries "
                + "(retry budget \(budgetText))"
        } else if endpointDown {
            explanation = "not retried: \(endpoint) is taken as down since a request to it failed for a whole "
                + "retry budget (\(budgetText)), until one succeeds"
        } else {
            return error.with(attempts: attempts)
        }
        return HTTPClientError(
            code: error.code, message: "\(error.message); \(explanation)", request: error.request,
            attempts: attempts, curlCode: error.curlCode)
    }
}
