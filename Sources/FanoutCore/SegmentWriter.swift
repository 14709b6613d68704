import Synchronization
import Foundation

/// When a worker's buffered results are written out as a segment.
public struct SegmentBatching: Sendable, Hashable {
    /// Records per segment at most. Default 1,000.
    public var maxRecords: Int
    /// Bytes per segment at most. Default 4 MiB.
    public var maxBytes: Int
    /// A buffered result waits at most this long before being written. Default 2 s.
    public var maxDelay: Duration

    public init(maxRecords: Int = 1000, maxBytes: Int = 4 << 20, maxDelay: Duration = .seconds(2)) {
        self.maxRecords = max(1, maxRecords)
        self.maxBytes = max(1, maxBytes)
        // A stored spec keeps whole milliseconds, and a zero delay would flush on every poll.
        self.maxDelay = max(maxDelay, .milliseconds(10))
    }
}

/// Buffers one shard attempt's records and writes them as numbered segments.
///
/// Object-store requests grow with the number of segments, which is bounded by records, bytes and time, never
/// one per file.
actor SegmentWriter {
    private let state: RunStateStore
    private let shard: Int
    private let attempt: Int
    private let token: String
    private let batching: SegmentBatching
    /// Records not written yet. Appending takes only this lock, not a hop onto the actor: the actor serialises
    /// the writes, and is entered only when a batch is due.
    private let pending = Mutex(Pending())
    private var sequence = 0
    private(set) var written = 0

    private struct Pending {
        var buffer: [RecordLine] = []
        var bytes = 0
        var oldest: ContinuousClock.Instant?
    }

    init(state: RunStateStore, shard: Int, attempt: Int, batching: SegmentBatching) {
        self.state = state
        self.shard = shard
        self.attempt = attempt
        self.token = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        self.batching = batching
    }

    nonisolated func append(_ record: RecordLine) async throws {
        let due = pending.withLock { pending in
            pending.buffer.append(record)
            pending.bytes += record.bytes.count
            if pending.oldest == nil { pending.oldest = .now }
            return pending.buffer.count >= batching.maxRecords || pending.bytes >= batching.maxBytes
        }
        if due { try await flush() }
    }

    /// Writes the buffer if its oldest record has waited past the batching delay.
    func flushIfDue() async throws {
        let due = pending.withLock { pending in
            pending.oldest.map { ContinuousClock.now - $0 >= batching.maxDelay } ?? false
        }
        if due { try await flush() }
    }

    func flush() async throws {
        let records = pending.withLock { pending in
            defer { pending = Pending() }
            return pending.buffer
        }
        guard !records.isEmpty else { return }
        sequence += 1
        do {
            try await state.writeSegment(
                records, to: state.layout.segment(shard: shard, attempt: attempt, token: token, sequence: sequence))
        } catch {
            // Keep the records for the next flush: a failed or cancelled write must not lose results.
            pending.withLock { pending in
                pending.buffer = records + pending.buffer
                pending.bytes += records.reduce(0) { $0 + $1.bytes.count }
                pending.oldest = pending.oldest ?? .now
            }
            throw error
        }
        written += records.count
    }
}
