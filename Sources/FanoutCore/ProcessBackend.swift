import FanoutStorage
import Foundation
import Synchronization

/// Runs each shard in a worker process started from the same executable, talking to the driver only through
/// the object store, exactly as pods do: the rehearsal of the cluster path on one machine.
///
/// A worker that exits non-zero or is killed is a failed attempt; the scheduler decides whether the shard runs
/// again, and a new attempt skips files the killed one already stored. Two attempts of a shard may run at once
/// (a backup).
public struct ProcessBackend: Backend {
    /// Worker processes at once. Default: the number of cores.
    public var workers: Int
    /// Files in flight within each worker. Default 4.
    public var filesInFlight: Int
    /// The executable to start; default this process's own.
    public var executable: String
    /// Arguments given to each worker; default this process's own, so the program reaches the same step.
    public var arguments: [String]
    /// Variables set for each worker on top of this process's environment (an S3 endpoint, the HTTP client's
    /// `FANOUT_HTTP_*` settings). Default none.
    public var environment: [String: String]

    public init(
        workers: Int = ProcessInfoCores.count,
        filesInFlight: Int = 4,
        executable: String = ProcessBackend.currentExecutable,
        arguments: [String] = Array(CommandLine.arguments.dropFirst()),
        environment: [String: String] = [:]
    ) {
        self.workers = max(1, workers)
        self.filesInFlight = max(1, filesInFlight)
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
    }

    public var name: String { "processes" }

    /// The path of the running executable.
    public static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    public var capabilities: BackendCapabilities { BackendCapabilities(slots: workers) }

    /// Signals a process gets from its own fault: a trap (`fatalError`, a failed precondition), an abort, a bad
    /// memory access, an arithmetic fault. A `SIGKILL` or `SIGTERM` came from elsewhere and is a plain failure.
    static let crashSignals: Set<Int32> = [SIGILL, SIGTRAP, SIGABRT, SIGSEGV, SIGBUS, SIGFPE]

    /// The line of a crashed worker's standard error that says why: the Swift runtime's "Fatal error: ...",
    /// "Precondition failed: ..." or "Assertion failed: ..." (after the file and line), rather than its stack trace.
    static func crashLine(in standardError: Data) -> String? {
        let markers = ["Fatal error", "Precondition failed", "Assertion failed"]
        return String(decoding: standardError, as: UTF8.self).split(separator: "\n").last { line in
            markers.contains { line.contains($0) }
        }.map { line in
            let text = String(line)
            guard let start = markers.compactMap({ text.range(of: $0)?.lowerBound }).min() else { return text }
            return String(text[start...])
        }
    }

    public func serve(_ submission: Submission, attempts: AttemptQueue) async throws -> BackendReport {
        let (executable, arguments, filesInFlight) = (self.executable, self.arguments, self.filesInFlight)
        let extraEnvironment = self.environment
        let missing = Mutex<String?>(nil)
        await submission.serveLocally(attempts, onCount: { submission.report(.workers(running: $0, pending: 0)) }) {
            launch in
            let (shard, attempt) = (launch.id.shard, launch.id.number)
            var environment = ProcessInfo.processInfo.environment.merging(extraEnvironment) { _, extra in extra }
            var assignment = WorkerAssignment(
                runID: submission.runID, stateLocation: submission.stateLocation, stepName: submission.stepName,
                shard: shard, attempt: attempt)
            assignment.concurrency = filesInFlight
            assignment.runDigest = submission.runDigest
            assignment.isolation = launch.isolation
            environment.merge(assignment.environment) { _, new in new }
            // A crash's own message ("Fatal error: ...") is what the file's failure should say; the runtime's
            // backtrace would push it out of the end of standard error that is kept. Unless asked for.
            if environment["SWIFT_BACKTRACE"] == nil { environment["SWIFT_BACKTRACE"] = "enable=no" }
            let result: ChildProcess.Result
            do {
                result = try await ChildProcess.run(
                    executable, arguments: arguments, environment: environment, captureOutput: false)
            } catch let error as ChildProcessError {
                // No attempt can start a program that is not there; a passing shortage (processes, descriptors)
                // costs this attempt only.
                guard FileManager.default.isExecutableFile(atPath: executable) else {
                    missing.withLock { $0 = error.message }
                    return .misconfigured(error.message)
                }
                return .failed("cannot start the worker for shard \(shard): \(error.message) (attempt \(attempt))")
            } catch {
                return Task.isCancelled ? .cancelled : .failed(SystemErrorText.describe(error))
            }
            if Task.isCancelled { return .cancelled }
            if !result.signaled && result.status == WorkerExit.misconfigured {
                return .misconfigured("worker for shard \(shard) \(result) (attempt \(attempt))")
            }
            if result.signaled && Self.crashSignals.contains(result.status) {
                let cause = Self.crashLine(in: result.standardError).map { ": \($0)" } ?? ""
                return .crashed("worker for shard \(shard) crashed (signal \(result.status))\(cause) (attempt \(attempt))")
            }
            guard result.succeeded else { return .failed("worker for shard \(shard) \(result) (attempt \(attempt))") }
            // A program that exits 0 without ever reaching Fanout.map or Fanout.bootstrap did not run the shard.
            guard (try? await submission.state.isCommitted(shard)) == true else {
                return .failed(
                    "worker for shard \(shard) exited without running it: does \(executable) call Fanout.map or "
                        + "Fanout.bootstrap before anything else? (attempt \(attempt))")
            }
            return .succeeded
        }
        if let message = missing.withLock({ $0 }) { throw RunError(code: .backendFailed, message: message) }
        return BackendReport()
    }
}
