import DequeModule
import Synchronization

/// Hands a run's outcomes from the driver's many tasks to the one consumer iterating the run, with a buffer in
/// between: a producer adds and goes on while fewer than `capacity` wait, and a consumer that falls behind takes
/// what piled up without a wake-up per element. (A rendezvous channel costs a suspension and a thread wake-up on
/// both sides for every file.) Producers past the capacity wait until the consumer has taken half of it.
///
/// Cancellation follows `AsyncThrowingChannel`: a cancelled `next()` returns `nil`, a cancelled `send` returns at
/// once (its element stays queued).
final class OutcomeQueue<Element: Sendable>: Sendable {
    private struct State {
        var buffer = Deque<Element>()
        var consumer: CheckedContinuation<Element?, any Error>?
        var producers: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextProducer = 0
        /// Set once the queue ends: `nil` success for `finish()`, the error for `fail(_:)`.
        var end: (any Error)??
        var consumerCancelled = false
    }

    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int = 256) {
        self.capacity = max(1, capacity)
    }

    /// Adds `element`; waits while the buffer holds more than ``capacity``, unless the task is cancelled.
    func send(_ element: sending Element) async {
        let id: Int? = state.withLock { state in
            if let consumer = state.consumer {
                state.consumer = nil
                consumer.resume(returning: element)
                return nil
            }
            state.buffer.append(element)
            guard state.buffer.count > capacity, state.end == nil, !state.consumerCancelled else { return nil }
            state.nextProducer += 1
            return state.nextProducer
        }
        guard let id else { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    guard state.buffer.count > capacity, state.end == nil, !state.consumerCancelled,
                        !Task.isCancelled
                    else { return true }
                    state.producers[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.producers.removeValue(forKey: id) }?.resume()
        }
    }

    /// The next element; `nil` once the queue finished and is empty, or when the calling task is cancelled.
    /// - Throws: the error the queue failed with, once, after the elements before it.
    func next() async throws -> Element? {
        switch try state.withLock({ try take(&$0) }) {
        case .element(let element): return element
        case .end: return nil
        case .empty: break
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                state.withLock { state in
                    do {
                        switch try take(&state) {
                        case .element(let element): return continuation.resume(returning: element)
                        case .end: return continuation.resume(returning: nil)
                        case .empty: break
                        }
                    } catch {
                        return continuation.resume(throwing: error)
                    }
                    if Task.isCancelled || state.consumerCancelled { return continuation.resume(returning: nil) }
                    state.consumer = continuation
                }
            }
        } onCancel: {
            typealias Waiting = (CheckedContinuation<Element?, any Error>?, [CheckedContinuation<Void, Never>])
            let (consumer, producers) = state.withLock { state -> Waiting in
                state.consumerCancelled = true
                defer {
                    state.consumer = nil
                    state.producers = [:]
                }
                return (state.consumer, Array(state.producers.values))
            }
            consumer?.resume(returning: nil)
            for producer in producers { producer.resume() }
        }
    }

    /// Producers waiting for room now.
    var waitingProducers: Int { state.withLock { $0.producers.count } }

    /// Ends the queue: the consumer gets what is buffered, then `nil`.
    func finish() { end(with: nil) }

    /// Ends the queue with `error`: the consumer gets what is buffered, then the error.
    func fail(_ error: any Error) { end(with: error) }

    private func end(with error: (any Error)?) {
        typealias Waiting = (CheckedContinuation<Element?, any Error>?, [CheckedContinuation<Void, Never>])
        let (consumer, producers) = state.withLock { state -> Waiting in
            guard state.end == nil else { return (nil, []) }
            // A consumer waits only on an empty buffer: it hears the end at once, and the error only once.
            state.end = state.consumer == nil ? .some(error) : .some(nil)
            defer {
                state.consumer = nil
                state.producers = [:]
            }
            return (state.consumer, Array(state.producers.values))
        }
        for producer in producers { producer.resume() }
        guard let consumer else { return }
        if let error { consumer.resume(throwing: error) } else { consumer.resume(returning: Element?.none) }
    }

    private enum Taken {
        case element(Element)
        case empty
        case end
    }

    /// Takes the first buffered element, resuming the waiting producers once half the capacity is free; at the end
    /// of an empty queue, ``Taken/end`` or its error (once: later calls get ``Taken/end``).
    private func take(_ state: inout State) throws -> Taken {
        if let first = state.buffer.popFirst() {
            if !state.producers.isEmpty, state.buffer.count <= capacity / 2 {
                for producer in state.producers.values { producer.resume() }
                state.producers = [:]
            }
            return .element(first)
        }
        guard let end = state.end else { return .empty }
        if let error = end {
            state.end = .some(nil)
            throw error
        }
        return .end
    }
}
