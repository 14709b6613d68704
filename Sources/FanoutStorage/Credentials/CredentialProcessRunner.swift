import Dispatch
import Foundation
import Synchronization

/// Runs a `credential_process` program and collects its output, with the blocking calls (starting it, reading
/// its pipes, waiting for its exit) on dispatch threads, never on Swift's cooperative ones.
enum CredentialProcessRunner {
    struct Output: Sendable {
        let status: Int32
        let standardOutput: Data
        let standardError: Data
    }

    struct NotFound: Error, CustomStringConvertible {
        let program: String
        var description: String { "'\(program)' is not an executable file, nor one found in PATH" }
    }

    /// Runs `arguments` (the program, then its arguments) with `environment`; the program is looked up in the
    /// environment's `PATH` unless it contains a `/`. Cancelling the task terminates the program.
    static func run(_ arguments: [String], environment: [String: String]) async throws -> Output {
        guard let program = arguments.first else { throw NotFound(program: "") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try executable(program, path: environment["PATH"]))
        process.arguments = Array(arguments.dropFirst())
        process.environment = environment
        let standardOutput = Pipe()
        let standardError = Pipe()
        process.standardOutput = standardOutput
        process.standardError = standardError
        process.standardInput = FileHandle.nullDevice
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                DispatchQueue.global().async {
                    continuation.resume(
                        with: Result {
                            try collect(process, standardOutput: standardOutput, standardError: standardError)
                        })
                }
            }
        } onCancel: {
            if process.isRunning { process.terminate() }
        }
    }

    /// Starts the process and blocks until it has exited and both pipes are drained.
    private static func collect(_ process: Process, standardOutput: Pipe, standardError: Pipe) throws -> Output {
        try process.run()
        let errorData = Mutex(Data())
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            let data = standardError.fileHandleForReading.readDataToEndOfFile()
            errorData.withLock { $0 = data }
            group.leave()
        }
        let outputData = standardOutput.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus, standardOutput: outputData,
            standardError: errorData.withLock { $0 })
    }

    private static func executable(_ program: String, path: String?) throws -> String {
        if program.contains("/") { return program }
        for directory in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw NotFound(program: program)
    }
}
