public import Foundation
import Synchronization

/// Runs a program and awaits it without blocking a thread: output is collected by Foundation's readability
/// handlers and the exit by its termination handler. Cancelling the awaiting task terminates the program.
public enum ChildProcess {
    /// How a program ended, and what it printed.
    public struct Result: Sendable, CustomStringConvertible {
        public let status: Int32
        /// Whether `status` is the signal that killed it rather than an exit status.
        public let signaled: Bool
        public let standardOutput: Data
        /// The last few KiB of standard error.
        public let standardError: Data

        public var succeeded: Bool { !signaled && status == 0 }

        /// The last lines of standard error, joined for a one-line message.
        public var errorTail: String {
            String(decoding: standardError, as: UTF8.self).split(separator: "\n").suffix(3)
                .joined(separator: " | ").trimmingCharacters(in: .whitespaces)
        }

        public var description: String {
            let how = signaled ? "was killed by signal \(status)" : "exited with status \(status)"
            return errorTail.isEmpty ? how : "\(how): \(errorTail)"
        }
    }

    /// Process ids of programs running now, for tests that kill one.
    static let running = Mutex<Set<Int32>>([])

    /// This process's environment, read once.
    private static let inheritedEnvironment = ProcessInfo.processInfo.environment

    /// Serialises process creation.
    private static let spawnLock = Mutex(())

    /// Runs `executable` (a path, or a name looked up on `PATH`) with `arguments`.
    ///
    /// - Parameters:
    ///   - standardInput: a file to read standard input from; default none.
    ///   - captureOutput: keep standard output (default `true`); otherwise it is discarded.
    ///   - maxOutput: standard output beyond this many bytes is an error (default 64 MiB).
    public static func run(
        _ executable: String,
        arguments: [String],
        environment: [String: String]? = nil,
        standardInput: String? = nil,
        captureOutput: Bool = true,
        maxOutput: Int = 64 << 20
    ) async throws -> Result {
        let process = Process()
        if executable.contains("/") {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [executable] + arguments
        }
        process.environment = environment ?? inheritedEnvironment
        let inputHandle: FileHandle?
        if let standardInput {
            guard let handle = FileHandle(forReadingAtPath: standardInput) else {
                throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: standardInput])
            }
            inputHandle = handle
            process.standardInput = handle
        } else {
            inputHandle = nil
            process.standardInput = FileHandle.nullDevice
        }
        let output = OutputCollector(limit: captureOutput ? maxOutput : 0, keepTail: false)
        let errors = OutputCollector(limit: 4096, keepTail: true)
        let outputPipe = Pipe()
        let errorPipe = Pipe()
        process.standardOutput = captureOutput ? outputPipe : FileHandle.nullDevice
        process.standardError = errorPipe
        if captureOutput {
            outputPipe.fileHandleForReading.readabilityHandler = { output.append($0.availableData) }
        }
        errorPipe.fileHandleForReading.readabilityHandler = { errors.append($0.availableData) }

        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, any Error>) in
                process.terminationHandler = { finished in
                    outputPipe.fileHandleForReading.readabilityHandler = nil
                    errorPipe.fileHandleForReading.readabilityHandler = nil
                    if captureOutput { output.append(outputPipe.fileHandleForReading.readDataToEndOfFile()) }
                    errors.append(errorPipe.fileHandleForReading.readDataToEndOfFile())
                    // Close every descriptor now: thousands of runs must not pile them up.
                    try? outputPipe.fileHandleForReading.close()
                    try? errorPipe.fileHandleForReading.close()
                    try? inputHandle?.close()
                    running.withLock { _ = $0.remove(finished.processIdentifier) }
                    if output.overflowed {
                        continuation.resume(throwing: ChildProcessError(
                            message: "\(executable) printed more than \(maxOutput) bytes"))
                        return
                    }
                    continuation.resume(returning: Result(
                        status: finished.terminationStatus, signaled: finished.terminationReason == .uncaughtSignal,
                        standardOutput: output.data, standardError: errors.data))
                }
                do {
                    // Foundation's Process.run() is not safe to call from several threads at once on Linux.
                    try spawnLock.withLock { _ in try process.run() }
                    // The child has its own copies of the write ends.
                    try? outputPipe.fileHandleForWriting.close()
                    try? errorPipe.fileHandleForWriting.close()
                    running.withLock { _ = $0.insert(process.processIdentifier) }
                    // A task cancelled before the program started ran the cancellation handler too early.
                    if Task.isCancelled { process.terminate() }
                } catch {
                    continuation.resume(throwing: ChildProcessError(
                        message: "cannot start \(executable): \(error.localizedDescription)"))
                }
            }
        } onCancel: {
            if process.isRunning { process.terminate() }
        }
    }
}

/// A program that could not be started or misbehaved.
public struct ChildProcessError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// Bytes a program writes, kept up to a limit (or, for standard error, the tail).
final class OutputCollector: Sendable {
    private struct State {
        var data = Data()
        var overflowed = false
    }

    private let state = Mutex(State())
    private let limit: Int
    private let keepTail: Bool

    init(limit: Int, keepTail: Bool) {
        self.limit = limit
        self.keepTail = keepTail
    }

    func append(_ chunk: Data) {
        guard !chunk.isEmpty else { return }
        state.withLock { state in
            state.data.append(chunk)
            if state.data.count > limit {
                if keepTail {
                    state.data = Data(state.data.suffix(limit / 2))
                } else {
                    state.overflowed = true
                    state.data = Data()
                }
            }
        }
    }

    var data: Data { state.withLock { $0.data } }
    var overflowed: Bool { state.withLock { $0.overflowed } }
}
