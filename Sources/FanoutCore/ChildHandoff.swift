import Dispatch
import Synchronization

/// Hands one value from a program's own thread to whoever waits for it: a blocking wait for the start (which
/// takes about as long as `posix_spawn` blocks its caller), or an async wait for the end. Whichever of delivery
/// and waiting comes second completes the hand-off.
final class ChildHandoff<Value: Sendable>: Sendable {
    private enum State {
        case empty
        case waiting(CheckedContinuation<Value, any Error>)
        case delivered(Result<Value, any Error>)
    }

    private let state = Mutex<State>(.empty)
    private let ready = DispatchSemaphore(value: 0)

    /// Delivers the value (or the error); call once.
    func deliver(_ result: Result<Value, any Error>) {
        let waiting = state.withLock { state -> CheckedContinuation<Value, any Error>? in
            defer { state = .delivered(result) }
            if case .waiting(let continuation) = state { return continuation }
            return nil
        }
        waiting?.resume(with: result)
        ready.signal()
    }

    /// Blocks until the value is delivered. Use only for hand-offs that come at once.
    func wait() throws -> Value {
        ready.wait()
        guard case .delivered(let result) = state.withLock({ $0 }) else {
            throw ChildProcessError(message: "a program's start was not reported")
        }
        return try result.get()
    }

    /// Waits, without blocking a thread, until the value is delivered.
    func value() async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            let delivered = state.withLock { state -> Result<Value, any Error>? in
                if case .delivered(let result) = state { return result }
                state = .waiting(continuation)
                return nil
            }
            if let delivered { continuation.resume(with: delivered) }
        }
    }
}
