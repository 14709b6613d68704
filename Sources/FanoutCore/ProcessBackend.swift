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
        var failed: [Int: String] = [:]
        try await withThrowingTaskGroup(of: (Int, String?).self) { group in
            var pending = submission.shards.makeIterator()
            func launch(_ shard: Int) {
                group.addTask {
                    var lastError: String?
                    for attempt in 1...(submission.retries + 1) {
                        var environment = ProcessInfo.processInfo.environment
                        var assignment = WorkerAssignment(
                            runID: submission.runID, stateLocation: submission.stateLocation,
                            stepName: submission.stepName, shard: shard, attempt: attempt)
                        assignment.concurrency = filesInFlight
                        environment.merge(assignment.environment) { _, new in new }
                        let status = try await WorkerProcess.run(
                            executable: executable, arguments: arguments, environment: environment)
                        if status.succeeded { return (shard, nil) }
                        lastError = "worker for shard \(shard) \(status) (attempt \(attempt))"
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

/// A child process awaited without blocking a thread; cancelling the waiting task terminates it.
enum WorkerProcess {
    struct Status: CustomStringConvertible {
        let code: Int32
        let signaled: Bool
        let stderrTail: String

        var succeeded: Bool { !signaled && code == 0 }

        var description: String {
            let how = signaled ? "was killed by signal \(code)" : "exited with status \(code)"
            return stderrTail.isEmpty ? how : "\(how): \(stderrTail)"
        }
    }

    /// Process IDs of running workers, for tests that kill one.
    static let running = Mutex<Set<Int32>>([])

    static func run(executable: String, arguments: [String], environment: [String: String]) async throws -> Status {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        let tail = StderrTail()
        errors.fileHandleForReading.readabilityHandler = { handle in tail.append(handle.availableData) }

        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Status, any Error>) in
                process.terminationHandler = { finished in
                    errors.fileHandleForReading.readabilityHandler = nil
                    tail.append(errors.fileHandleForReading.availableData)
                    running.withLock { _ = $0.remove(finished.processIdentifier) }
                    continuation.resume(returning: Status(
                        code: finished.terminationStatus, signaled: finished.terminationReason == .uncaughtSignal,
                        stderrTail: tail.text))
                }
                do {
                    try process.run()
                    running.withLock { _ = $0.insert(process.processIdentifier) }
                } catch {
                    continuation.resume(throwing: RunError(
                        code: .backendFailed, message: "cannot start worker \(executable)", underlying: error))
                }
            }
        } onCancel: {
            if process.isRunning { process.terminate() }
        }
    }
}

/// The last lines a worker wrote to standard error.
final class StderrTail: Sendable {
    private let buffer = Mutex(Data())

    func append(_ data: Data) {
        guard !data.isEmpty else { return }
        buffer.withLock { buffer in
            buffer.append(data)
            if buffer.count > 4096 { buffer = Data(buffer.suffix(2048)) }
        }
    }

    var text: String {
        let lines = String(decoding: buffer.withLock { $0 }, as: UTF8.self)
            .split(separator: "\n").suffix(3)
        return lines.joined(separator: " | ").trimmingCharacters(in: .whitespaces)
    }
}
