import Foundation
import Synchronization

/// Runs each shard in a worker process started from the same executable, talking to the driver only through
/// the object store, exactly as pods do: the rehearsal of the cluster path on one machine.
///
/// A worker that exits non-zero or is killed is started again for the same shard, up to the submission's
/// retries; the new attempt skips files the killed one already stored.
public struct ProcessBackend: Backend {
    /// Worker processes at once. Default: the number of cores.
    public var workers: Int
    /// Files in flight within each worker. Default 4.
    public var filesInFlight: Int
    /// The executable to start; default this process's own.
    public var executable: String
    /// Arguments given to each worker; default this process's own, so the program reaches the same step.
    public var arguments: [String]

    public init(
        workers: Int = ProcessInfoCores.count,
        filesInFlight: Int = 4,
        executable: String = ProcessBackend.currentExecutable,
        arguments: [String] = Array(CommandLine.arguments.dropFirst())
    ) {
        self.workers = max(1, workers)
        self.filesInFlight = max(1, filesInFlight)
        self.executable = executable
        self.arguments = arguments
    }

    public var name: String { "processes" }

    /// The path of the running executable.
    public static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    public func execute(_ submission: Submission) async throws -> BackendReport {
        let (executable, arguments, filesInFlight) = (self.executable, self.arguments, self.filesInFlight)
        let running = Mutex(0)
        /// Counts a worker in or out and tells the caller.
        let count: @Sendable (Int) -> Void = { change in
            let now = running.withLock { count in
                count += change
                return count
            }
            submission.report(.workers(running: now, pending: 0))
        }
        return try await submission.runShards(parallelism: workers) { shard, attempt in
            count(1)
            defer { count(-1) }
            var environment = ProcessInfo.processInfo.environment
            var assignment = WorkerAssignment(
                runID: submission.runID, stateLocation: submission.stateLocation, stepName: submission.stepName,
                shard: shard, attempt: attempt)
            assignment.concurrency = filesInFlight
            assignment.runDigest = submission.runDigest
            environment.merge(assignment.environment) { _, new in new }
            let result: ChildProcess.Result
            do {
                result = try await ChildProcess.run(
                    executable, arguments: arguments, environment: environment, captureOutput: false)
            } catch let error as ChildProcessError {
                // No attempt can start a program that is not there; a passing shortage (processes, descriptors)
                // costs this attempt only.
                guard FileManager.default.isExecutableFile(atPath: executable) else {
                    throw RunError(code: .backendFailed, message: error.message)
                }
                return "cannot start the worker for shard \(shard): \(error.message) (attempt \(attempt))"
            }
            guard result.succeeded else { return "worker for shard \(shard) \(result) (attempt \(attempt))" }
            // A program that exits 0 without ever reaching Fanout.map or Fanout.bootstrap did not run the shard.
            guard try await submission.state.isCommitted(shard) else {
                return "worker for shard \(shard) exited without running it: does \(executable) call Fanout.map or "
                    + "Fanout.bootstrap before anything else? (attempt \(attempt))"
            }
            return nil
        }
    }
}
