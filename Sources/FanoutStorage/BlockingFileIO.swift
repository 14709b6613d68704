import Dispatch
import Synchronization

/// Runs blocking file-system calls on a dispatch queue, off Swift's cooperative threads, when they move enough
/// bytes to hold a thread for long; smaller ones run in place, where a hop between threads would cost more.
enum BlockingFileIO {
    /// The most bytes read, written or copied in place: 1 MiB.
    static let inPlaceLimit = 1 << 20

    private static let queue = DispatchQueue(label: "fanout.local-object-store.io", attributes: .concurrent)
    private static let offloaded = Atomic<Int>(0)

    /// Runs `work` in place for up to ``inPlaceLimit`` bytes, otherwise on the I/O queue.
    static func run<T: Sendable>(bytes: Int, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        guard bytes > inPlaceLimit else { return try work() }
        offloaded.add(1, ordering: .relaxed)
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }

    // MARK: Observing, for tests

    /// How many calls have run on the I/O queue so far.
    static var offloadedCount: Int { offloaded.load(ordering: .relaxed) }
}
