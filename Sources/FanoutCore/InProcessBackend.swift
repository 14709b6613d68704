/// Runs shards as tasks in the caller's process: the embedded default, and the fastest path on one machine.
public struct InProcessBackend: Backend {
    /// Shards run at once. Default: the number of cores.
    public var parallelism: Int
    /// Files in flight within each shard. Default 4.
    public var filesPerShardInFlight: Int

    public init(parallelism: Int = ProcessInfoCores.count, filesPerShardInFlight: Int = 4) {
        self.parallelism = max(1, parallelism)
        self.filesPerShardInFlight = max(1, filesPerShardInFlight)
    }

    public var name: String { "in-process" }

    public func execute(_ submission: Submission) async throws -> BackendReport {
        var failed: [Int: String] = [:]
        try await withThrowingTaskGroup(of: (Int, String?).self) { group in
            var pending = submission.shards.makeIterator()
            func launch(_ shard: Int) {
                group.addTask {
                    var lastError: String?
                    for attempt in 1...(submission.retries + 1) {
                        try Task.checkCancellation()
                        do {
                            try await submission.executeInProcess(
                                shard: shard, attempt: attempt, concurrency: filesPerShardInFlight)
                            return (shard, nil)
                        } catch is CancellationError {
                            throw CancellationError()
                        } catch {
                            lastError = "\(error)"
                        }
                    }
                    return (shard, lastError)
                }
            }
            for _ in 0..<parallelism {
                guard let shard = pending.next() else { break }
                launch(shard)
            }
            while let (shard, error) = try await group.next() {
                if let error { failed[shard] = error }
                if let next = pending.next() { launch(next) }
            }
        }
        return BackendReport(failedShards: failed)
    }
}

/// The machine's core count.
public enum ProcessInfoCores {
    public static var count: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }
}

import Foundation
