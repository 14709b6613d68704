import Synchronization

/// Counts API requests by `verb resource` (`create jobs`, `watch pods`, `get pods/log`), as the API server's
/// audit log would; retries count as requests.
public final class RequestCounter: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    public init() {}

    func record(_ operation: String) {
        counts.withLock { $0[operation, default: 0] += 1 }
    }

    /// Requests by `verb resource`.
    public var byOperation: [String: Int] { counts.withLock { $0 } }

    /// Requests in all.
    public var total: Int { counts.withLock { $0.values.reduce(0, +) } }
}
