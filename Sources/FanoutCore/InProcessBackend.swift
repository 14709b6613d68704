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

    public var capabilities: BackendCapabilities {
        BackendCapabilities(slots: parallelism, handsRecordsOver: true, runsAttemptsSideBySide: true)
    }

    public func serve(_ submission: Submission, attempts: AttemptQueue) async throws -> BackendReport {
        let filesInFlight = filesPerShardInFlight
        await submission.serveLocally(attempts) { launch in
            do {
                try await submission.executeInProcess(
                    shard: launch.id.shard, attempt: launch.id.number, concurrency: filesInFlight)
                return .succeeded
            } catch {
                if Task.isCancelled { return .cancelled }
                return .failed(SystemErrorText.describe(error))
            }
        }
        return BackendReport()
    }
}

/// The machine's core count.
public enum ProcessInfoCores {
    public static var count: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }
}

import FanoutStorage
import Foundation
