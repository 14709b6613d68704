import Foundation

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
        var failed: [Int: String] = [:]
        try await withThrowingTaskGroup(of: (Int, String?).self) { group in
            var pending = submission.shards.makeIterator()
            func launch(_ shard: Int) {
                group.addTask {
                    var lastError: String?
                    for attempt in 1...(submission.retries + 1) {
                        try Task.checkCancellation()
                        var environment = ProcessInfo.processInfo.environment
                        var assignment = WorkerAssignment(
                            runID: submission.runID, stateLocation: submission.stateLocation,
                            stepName: submission.stepName, shard: shard, attempt: attempt)
                        assignment.concurrency = filesInFlight
                        environment.merge(assignment.environment) { _, new in new }
                        let result: ChildProcess.Result
                        do {
                            result = try await ChildProcess.run(
                                executable, arguments: arguments, environment: environment, captureOutput: false)
                        } catch let error as ChildProcessError {
                            throw RunError(code: .backendFailed, message: error.message)
                        }
                        if result.succeeded { return (shard, nil) }
                        lastError = "worker for shard \(shard) \(result) (attempt \(attempt))"
                    }
                    return (shard, lastError)
                }
            }
            for _ in 0..<workers {
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

