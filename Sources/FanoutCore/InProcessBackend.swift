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
        let filesInFlight = filesPerShardInFlight
        return try await submission.runShards(parallelism: parallelism) { shard, attempt in
            do {
                try await submission.executeInProcess(shard: shard, attempt: attempt, concurrency: filesInFlight)
                return nil
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                return SystemErrorText.describe(error)
            }
        }
    }
}

/// The machine's core count.
public enum ProcessInfoCores {
    public static var count: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }
}

import FanoutStorage
import Foundation
