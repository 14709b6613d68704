import Synchronization

/// Endpoints that outlasted a whole retry budget, so that the requests after the first that gave up fail fast
/// instead of each waiting out a budget of its own.
///
/// An endpoint is marked down when a request to it gives up on a transient failure or a retryable status; while it
/// is down, requests to it get a single attempt and no retries. The first success marks it up again.
final class EndpointHealth: Sendable {
    private let down = Mutex<Set<String>>([])

    func isDown(_ endpoint: String) -> Bool { down.withLock { $0.contains(endpoint) } }

    func markDown(_ endpoint: String) { _ = down.withLock { $0.insert(endpoint) } }

    func markUp(_ endpoint: String) { _ = down.withLock { $0.remove(endpoint) } }
}
