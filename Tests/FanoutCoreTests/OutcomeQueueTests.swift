import Foundation
import Testing
@testable import FanoutCore

/// Outcomes reach the consumer in order, through a buffer that lets producers go on until it is full.
@Suite(.timeLimit(.minutes(1))) struct OutcomeQueueTests {
    struct Failed: Error, Equatable {}

    @Test func elementsArriveInOrderThenTheEnd() async throws {
        let queue = OutcomeQueue<Int>(capacity: 8)
        for value in 0..<8 { await queue.send(value) }  // no consumer yet: the buffer takes them all
        #expect(queue.waitingProducers == 0)
        queue.finish()
        var seen: [Int] = []
        while let value = try await queue.next() { seen.append(value) }
        #expect(seen == Array(0..<8))
        #expect(try await queue.next() == nil)
    }

    @Test func aProducerPastTheCapacityWaitsUntilHalfIsTaken() async throws {
        let queue = OutcomeQueue<Int>(capacity: 4)
        let producer = Task {
            for value in 0..<6 { await queue.send(value) }
            queue.finish()
        }
        while queue.waitingProducers == 0 { await Task.yield() }
        var seen: [Int] = []
        while let value = try await queue.next() { seen.append(value) }
        await producer.value
        #expect(seen == Array(0..<6))
    }

    @Test func aFailureComesAfterTheElementsBeforeItAndOnlyOnce() async throws {
        let queue = OutcomeQueue<Int>()
        await queue.send(1)
        queue.fail(Failed())
        queue.finish()
        #expect(try await queue.next() == 1)
        await #expect(throws: Failed.self) { try await queue.next() }
        #expect(try await queue.next() == nil)
    }

    @Test func aWaitingConsumerHearsTheFailure() async throws {
        let queue = OutcomeQueue<Int>()
        let consumer = Task { try await queue.next() }
        await Task.yield()
        queue.fail(Failed())
        await #expect(throws: Failed.self) { try await consumer.value }
    }

    @Test func aCancelledConsumerGetsNilAndFreesWaitingProducers() async throws {
        let queue = OutcomeQueue<Int>(capacity: 1)
        let consumer = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await queue.next()
        }
        #expect(try await consumer.value == nil)
        let producer = Task { for value in 0..<3 { await queue.send(value) } }
        await producer.value  // the consumer is gone: nobody would make room
    }
}

extension OutcomeQueueTests {
    @Test func aWaitingConsumerGetsAFewElementsWithoutTheEnd() async throws {
        let queue = OutcomeQueue<Int>(capacity: 256)
        let consumer = Task { () -> [Int] in
            var seen: [Int] = []
            while seen.count < 3, let value = try await queue.next() { seen.append(value) }
            return seen
        }
        while !queue.consumerWaits { await Task.yield() }
        // Fewer than a wake batch: the delayed wake-up delivers them.
        for value in 0..<3 { await queue.send(value) }
        #expect(try await consumer.value == [0, 1, 2])
        queue.finish()
    }

    @Test func aWaitingConsumerGetsWhatIsBufferedBeforeTheEnd() async throws {
        let queue = OutcomeQueue<Int>(capacity: 256)
        let consumer = Task { () -> [Int] in
            var seen: [Int] = []
            while let value = try await queue.next() { seen.append(value) }
            return seen
        }
        while !queue.consumerWaits { await Task.yield() }
        await queue.send(7)
        queue.finish()
        #expect(try await consumer.value == [7])
    }
}
