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
        // Output goes to temporary files rather than pipes: nothing to drain while the program runs, and no
        // dispatch sources to tear down for each of thousands of short-lived programs.
        let outputFile = try TemporaryOutput(name: "out")
        let errorFile = try TemporaryOutput(name: "err")
        process.standardOutput = captureOutput ? outputFile.handle : FileHandle.nullDevice
        process.standardError = errorFile.handle

        let once = ExitLatch()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, any Error>) in
                /// Finishes the call exactly once, whichever of Foundation's handler and the reaper sees the exit.
                let complete: @Sendable (Int32, Bool, Int32) -> Void = { status, signaled, pid in
                    guard once.claim() else { return }
                    running.withLock { _ = $0.remove(pid) }
                    try? inputHandle?.close()
                    let errors = errorFile.finish(keepingLast: 4096)
                    guard let output = outputFile.finish(atMost: captureOutput ? maxOutput : 0) else {
                        continuation.resume(throwing: ChildProcessError(
                            message: "\(executable) printed more than \(maxOutput) bytes"))
                        return
                    }
                    continuation.resume(returning: Result(
                        status: status, signaled: signaled, standardOutput: output, standardError: errors))
                }
                process.terminationHandler = { finished in
                    complete(
                        finished.terminationStatus, finished.terminationReason == .uncaughtSignal,
                        finished.processIdentifier)
                }
                do {
                    // Foundation's Process.run() is not safe to call from several threads at once on Linux.
                    try spawnLock.withLock { _ in try process.run() }
                    let pid = process.processIdentifier
                    running.withLock { _ = $0.insert(pid) }
                    // The child has its own copies of these descriptors.
                    outputFile.closeWriter()
                    errorFile.closeWriter()
                    // A task cancelled before the program started ran the cancellation handler too early.
                    if Task.isCancelled { process.terminate() }
                    // Foundation can miss an exit when many children end at once, leaving a zombie and a caller
                    // waiting forever. Reap it ourselves only when it is still our zombie: same start time (so the
                    // process id was not reused) and left unreaped across two looks.
                    if let started = ProcStat.read(pid)?.startTime {
                        Task.detached { [complete] in
                            var delay = Duration.milliseconds(50)
                            var zombieSeen = false
                            while !once.isClaimed {
                                try? await Task.sleep(for: delay)
                                delay = min(delay * 2, .milliseconds(500))
                                guard let now = ProcStat.read(pid), now.startTime == started else { continue }
                                guard now.state == "Z" else {
                                    zombieSeen = false
                                    continue
                                }
                                if !zombieSeen {
                                    zombieSeen = true
                                    continue
                                }
                                var status: Int32 = 0
                                if !once.isClaimed, waitpid(pid, &status, WNOHANG) == pid {
                                    let signal = status & 0x7f
                                    complete(signal == 0 ? (status >> 8) & 0xff : signal, signal != 0, pid)
                                    return
                                }
                            }
                        }
                    }
                } catch {
                    try? inputHandle?.close()
                    _ = outputFile.finish(atMost: 0)
                    _ = errorFile.finish(keepingLast: 0)
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

/// The state and start time of a process, from `/proc/PID/stat`.
struct ProcStat {
    let state: Character
    let startTime: String

    static func read(_ pid: Int32) -> ProcStat? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name: state is field 3, start time field 22.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let state = fields[0].first else { return nil }
        return ProcStat(state: state, startTime: String(fields[19]))
    }
}

/// Lets exactly one of several observers of a program's exit finish the call.
final class ExitLatch: Sendable {
    private let claimed = Mutex(false)

    /// True for the first caller only.
    func claim() -> Bool { claimed.withLock { done in defer { done = true }; return !done } }

    var isClaimed: Bool { claimed.withLock { $0 } }
}

/// A temporary file a program writes one of its outputs to, read and deleted once it has exited.
final class TemporaryOutput: Sendable {
    let url: URL
    let handle: FileHandle

    init(name: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("fanout-\(name)-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw ChildProcessError(message: "cannot create a temporary file in \(url.deletingLastPathComponent().path)")
        }
        handle = try FileHandle(forWritingTo: url)
    }

    func closeWriter() { try? handle.close() }

    /// The whole file, or `nil` past `limit` bytes; deletes it.
    func finish(atMost limit: Int) -> Data? {
        defer { remove() }
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)??.intValue ?? 0
        guard size <= limit else { return nil }
        return size == 0 ? Data() : (try? Data(contentsOf: url)) ?? Data()
    }

    /// The last `count` bytes; deletes the file.
    func finish(keepingLast count: Int) -> Data {
        defer { remove() }
        guard count > 0, let data = try? Data(contentsOf: url) else { return Data() }
        return Data(data.suffix(count))
    }

    private func remove() {
        try? handle.close()
        try? FileManager.default.removeItem(at: url)
    }
}
