import FanoutHTTP
import FanoutStorage
import Foundation
import Synchronization

/// Runs one attempt of one shard: the step on each file not yet done, results into segments, then the commit.
///
/// This is all a worker does, wherever it runs (a task, a local process, a pod). Files that an earlier attempt
/// already recorded are skipped, so a retried or duplicated shard repeats little and the driver's
/// de-duplication by ordinal makes every file count once.
struct ShardExecutor: Sendable {
    let step: AnyMapStep
    let shard: Shard
    let attempt: Int
    let state: RunStateStore
    let input: any ObjectStore
    let inputLocation: StorageLocation
    let concurrency: Int
    let batching: SegmentBatching
    /// Called with each record as soon as it is made; the in-process backend hands it to the driver.
    let onRecord: (@Sendable (_ shard: Int, RecordLine) async -> Void)?
    /// After a crash: files one at a time in plan order, each stored at once; the file the last isolated attempt
    /// crashed on fails with its message.
    var isolation: CrashIsolation? = nil

    func run() async throws {
        var done = Set<Int>()
        for key in try await state.segmentKeys(shard: shard.index) {
            for record in try await state.readSegment(key) {
                if let header = try? RecordCoding.decoder.decode(RecordHeader.self, from: Data(record.bytes)) {
                    done.insert(header.o)
                }
            }
        }
        var remaining = shard.files.filter { !done.contains($0.ordinal) }
        var concurrency = concurrency
        var batching = batching
        var blamed: RecordLine?
        if let isolation {
            concurrency = 1
            batching.maxRecords = 1
            if let message = isolation.crashMessage, let culprit = remaining.first {
                blamed = .failure(
                    file: culprit, attempt: attempt, seconds: 0,
                    message: "the step crashed the worker on this file: \(message)")
                remaining.removeFirst()
            }
        }
        let writer = SegmentWriter(state: state, shard: shard.index, attempt: attempt, batching: batching)
        if let blamed {
            try await writer.append(blamed)
            await onRecord?(shard.index, blamed)
        }

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [batching] in
                while !Task.isCancelled {
                    try await Task.sleep(for: min(batching.maxDelay, .milliseconds(500)))
                    try? await writer.flushIfDue()
                }
            }
            // A loop per file in flight, each taking the next file when it finishes one: a file costs no task of
            // its own, and a step that never suspends (a small local read) runs without a task switch.
            let cursor = FileCursor(count: remaining.count)
            try await withThrowingTaskGroup(of: Void.self) { loops in
                for _ in 0..<min(max(1, concurrency), remaining.count) {
                    loops.addTask { [remaining] in
                        var lastYield = ContinuousClock.now
                        while let index = cursor.next() {
                            // A cancelled attempt stops between files, and never commits.
                            try Task.checkCancellation()
                            let record = try await process(remaining[index])
                            try await writer.append(record)
                            await onRecord?(shard.index, record)
                            if ContinuousClock.now - lastYield >= Self.longestTurn {
                                // Lets the process's other tasks (the flusher, the driver, the caller's) have a
                                // thread: a step that never suspends would otherwise keep it for the whole shard.
                                await Task.yield()
                                lastYield = ContinuousClock.now
                            }
                        }
                    }
                }
                try await loops.waitForAll()
            }
            group.cancelAll()
        }
        try await writer.flush()
        try await state.write(
            ShardCommit(shard: shard.index, attempt: attempt, files: shard.files.count, committedAt: Date()),
            to: state.layout.commit(shard: shard.index))
    }

    /// The longest a loop runs files without yielding its thread, when its step does not suspend.
    static var longestTurn: Duration { .milliseconds(2) }

    /// The file's record; throws only `CancellationError`, since a cancelled step's outcome is not a result.
    private func process(_ file: PlannedFile) async throws -> RecordLine {
        let clock = ContinuousClock()
        let start = clock.now
        let startedMillis = Int64((Date().timeIntervalSince1970 * 1000).rounded())
        let input = InputFile(
            info: ObjectInfo(key: file.key, size: file.size, etag: file.etag, lastModified: Date(timeIntervalSince1970: file.modified)),
            ordinal: file.ordinal, store: self.input, location: inputLocation)
        // Only a step that runs a program reports its exit: others pay for no recorder.
        let exits = step.reportsProgramExit ? ProgramExitRecorder() : nil
        func run() -> RecordLine.Run {
            RecordLine.Run(
                attempt: attempt, seconds: (clock.now - start).inSeconds, startedMillis: startedMillis,
                exit: exits?.exit)
        }
        do {
            let value =
                if let exits {
                    try await ProgramExitRecorder.$current.withValue(exits) { try await step.run(input) }
                } else {
                    try await step.run(input)
                }
            return .success(file: file, run: run(), value: value.json, typed: onRecord == nil ? nil : value.value)
        } catch {
            if Task.isCancelled { throw CancellationError() }
            return .failure(file: file, run: run(), message: SystemErrorText.describe(error))
        }
    }
}

/// Hands out the indices of a shard's files, each once, to the loops that run them.
private final class FileCursor: Sendable {
    private let count: Int
    private let taken = Atomic<Int>(0)

    init(count: Int) { self.count = count }

    /// The next file's index, or `nil` once every file was taken.
    func next() -> Int? {
        let index = taken.wrappingAdd(1, ordering: .relaxed).oldValue
        return index < count ? index : nil
    }
}
