/// The link between a run's scheduler and its backend: the backend reads what to start and stop from
/// ``requests`` and tells how each attempt goes with ``report(_:)``.
///
/// Public, with its initialiser, so that a backend written outside this package can be driven by a test of its own.
public final class AttemptQueue: Sendable {
    /// What the scheduler asks.
    public enum Request: Sendable, Hashable {
        case launch([AttemptLaunch])
        case cancel([AttemptID])
    }

    /// The scheduler's requests, in order; ends when the run needs no more attempts.
    public let requests: AsyncStream<Request>
    private let continuation: AsyncStream<Request>.Continuation
    private let reports: @Sendable (AttemptEvent) -> Void

    /// - Parameter reports: receives every event a backend reports, from any thread.
    public init(reports: @escaping @Sendable (AttemptEvent) -> Void) {
        (requests, continuation) = AsyncStream.makeStream(of: Request.self)
        self.reports = reports
    }

    /// Tells the scheduler how an attempt goes.
    public func report(_ event: AttemptEvent) {
        reports(event)
    }

    /// Asks the backend for `request`.
    public func send(_ request: Request) {
        continuation.yield(request)
    }

    /// Ends the requests: the backend returns once its attempts have stopped. A backend that cannot go on may end
    /// them itself, and then throws its error from ``Backend/serve(_:attempts:)``.
    public func finish() {
        continuation.finish()
    }
}
