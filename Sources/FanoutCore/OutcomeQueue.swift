import DequeModule
import Synchronization

/// Hands a run's outcomes from the driver's many tasks to the one consumer iterating the run, with a buffer in
/// between: a producer adds and goes on while fewer than `capacity` wait, and the consumer takes what piled up
/// without a wake-up per element. A waiting consumer is woken once a quarter of the capacity is buffered, or
/// ``wakeDelay`` after the first element arrives, whichever comes first: waking it for every element costs a
/// thread wake-up per file when it waits on an actor (a script's main actor), more than the file's own work.
/// Producers past the capacity wait until the consumer has taken half of it.
///
/// Cancellation follows `AsyncThrowingChannel`: a cancelled `next()` returns `nil`, a cancelled `send` returns at
/// once (its element stays queued).
final class OutcomeQueue<Element: Sendable>: Sendable {
    private struct State {
        var buffer = Deque<Element>()
        var consumer: CheckedContinuation<Element?, any Error>?
        /// Whether a delayed wake-up of the waiting consumer is on its way.
        var wakeScheduled = false
        var producers: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextProducer = 0
        /// Set once the queue ends: `nil` success for `finish()`, the error for `fail(_:)`.
        var end: (any Error)??
        var consumerCancelled = false
    }

    private let state = Mutex(State())
    let capacity: Int
    /// Buffered elements that wake a waiting consumer at once.
    let wakeBatch: Int
    /// The longest a buffered element waits for a consumer that waits.
    static var wakeDelay: Duration { .milliseconds(2) }

    init(capacity: Int = 256) {
        self.capacity = max(1, capacity)
        self.wakeBatch = max(1, capacity / 4)
    }

    /// Adds `element`; waits while the buffer holds more than ``capacity``, unless the task is cancelled.
    func send(_ element: sending Element) async {
        let then: AfterSend = state.withLock { state in
            state.buffer.append(element)
            if state.consumer != nil {
                if state.buffer.count >= wakeBatch { return .wake(wakeConsumer(&state)) }
                if !state.wakeScheduled {
                    state.wakeScheduled = true
                    return .scheduleWake
                }
                return .goOn
            }
            guard state.buffer.count > capacity, state.end == nil, !state.consumerCancelled else { return .goOn }
            state.nextProducer += 1
            return .wait(state.nextProducer)
        }
        let id: Int
        switch then {
        case .goOn: return
        case .wake(let wake): return wake.resume()
        case .scheduleWake:
            Task {
                try? await Task.sleep(for: Self.wakeDelay)
                state.withLock { state in
                    state.wakeScheduled = false
                    return wakeConsumer(&state)
                }.resume()
            }
            return
        case .wait(let producer): id = producer
        }
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

    /// What a producer does once its element is buffered.
    private enum AfterSend {
        case goOn
        case wake(Wake)
        case scheduleWake
        case wait(Int)
    }

    /// A waiting consumer and what it gets: the first buffered element, the end, or the error.
    private struct Wake {
        var consumer: CheckedContinuation<Element?, any Error>?
        var result: Result<Element?, any Error> = .success(nil)

        func resume() { consumer?.resume(with: result) }
    }

    /// Takes the waiting consumer, if any, with what it gets now; none while the buffer is empty and open.
    private func wakeConsumer(_ state: inout State) -> Wake {
        guard let consumer = state.consumer else { return Wake() }
        let result: Result<Element?, any Error>
        do {
            switch try take(&state) {
            case .element(let element): result = .success(element)
            case .end: result = .success(nil)
            case .empty: return Wake()
            }
        } catch {
            result = .failure(error)
        }
        state.consumer = nil
        return Wake(consumer: consumer, result: result)
    }

    /// The next element; `nil` once the queue finished and is empty, or when the calling task is cancelled.
    ///
    /// Runs on the caller's executor (`isolation`), so a consumer on an actor takes a buffered element without
    /// hopping off it and back.
    /// - Throws: the error the queue failed with, once, after the elements before it.
    func next(isolation: isolated (any Actor)? = #isolation) async throws -> Element? {
        switch try state.withLock({ try take(&$0) }) {
        case .element(let element): return element
        case .end: return nil
        case .empty: break
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation(isolation: isolation) { continuation in
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

    /// Whether the consumer waits for an element now.
    var consumerWaits: Bool { state.withLock { $0.consumer != nil } }

    /// Producers waiting for room now.
    var waitingProducers: Int { state.withLock { $0.producers.count } }

    /// Ends the queue: the consumer gets what is buffered, then `nil`.
    func finish() { end(with: nil) }

    /// Ends the queue with `error`: the consumer gets what is buffered, then the error.
    func fail(_ error: any Error) { end(with: error) }

    private func end(with error: (any Error)?) {
        let (wake, producers) = state.withLock { state -> (Wake, [CheckedContinuation<Void, Never>]) in
            guard state.end == nil else { return (Wake(), []) }
            state.end = .some(error)
            defer { state.producers = [:] }
            return (wakeConsumer(&state), Array(state.producers.values))
        }
        for producer in producers { producer.resume() }
        wake.resume()
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
