/// What one attempt of a request came to, as ``HTTPClient/withRetries(_:timeout:logger:_:)`` sees it.
///
/// Errors that another attempt cannot mend are thrown by the attempt itself and end the call at once.
public enum AttemptOutcome<Value: Sendable>: Sendable {
    /// Done: the call returns this.
    case success(Value)
    /// An answer worth another try (throttled, unavailable); the call returns it as is when no retry is left.
    case retryableAnswer(Value, status: Int, retryAfter: Duration?)
    /// A transient failure (refused, reset, stalled); the call throws it when no retry is left.
    case transientFailure(HTTPClientError)
}

extension AttemptOutcome {
    /// Whether the server answered that the client sends too fast.
    func isThrottling(_ statuses: Set<Int>) -> Bool {
        if case .retryableAnswer(_, let status, _) = self { return statuses.contains(status) }
        return false
    }
}
