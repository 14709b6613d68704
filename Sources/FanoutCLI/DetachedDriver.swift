import Dispatch
import Synchronization
import Fanout
import Foundation

/// A run's driver in a background process of its own, so that `fanout run --detach` returns at once.
///
/// The background process is this executable again, with the same arguments and `--detached-run RUN
/// --detached-state PREFIX`: it re-attaches to the stored run, runs its shards on the chosen backend, folds the
/// results (into `--output` when given) and writes the run's summary. It runs in a process group of its own and
/// ignores hang-ups, so neither Ctrl-C nor closing the terminal stops it; its standard input is `/dev/null`, and
/// its standard output and error are appended to `RUN.log` in ``folder(environment:)``, beside `RUN.pid`, which
/// `fanout cancel` reads to stop the group.
struct DetachedDriver {
    let runID: String
    let folder: String

    init(runID: String, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.runID = runID
        self.folder = Self.folder(environment: environment)
    }

    /// `$XDG_STATE_HOME/fanout/runs`, else `~/.local/state/fanout/runs`.
    static func folder(environment: [String: String]) -> String {
        if let state = environment["XDG_STATE_HOME"], !state.isEmpty { return state + "/fanout/runs" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSTemporaryDirectory()
        return home + "/.local/state/fanout/runs"
    }

    var logPath: String { folder + "/\(runID).log" }
    var pidPath: String { folder + "/\(runID).pid" }

    /// Deletes the run's log and process id files, if any.
    func removeFiles() {
        for path in [logPath, pidPath] { try? FileManager.default.removeItem(atPath: path) }
    }

    /// The arguments of the background driver: `arguments` (this process's, `run` first) with the run named.
    static func driverArguments(
        _ arguments: [String], runID: String, state: String, digest: String
    ) throws -> [String] {
        guard arguments.first == "run" else {
            throw RunError(code: .invalidInput, message: "--detach works only as `fanout run ... --detach`")
        }
        return ["run", "--detached-run", runID, "--detached-state", state, "--detached-digest", digest]
            + arguments.dropFirst()
    }

    /// Starts the background driver and returns its process id.
    /// - Throws: ``RunError`` when the log cannot be created or the process cannot start.
    func start(arguments: [String]) throws -> Int32 {
        let log: FileHandle
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            if !FileManager.default.fileExists(atPath: logPath) {
                _ = FileManager.default.createFile(atPath: logPath, contents: nil)
            }
            log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
            try log.seekToEnd()
        } catch {
            throw RunError(
                code: .invalidInput,
                message: "cannot create the log of the detached run, \(logPath): check the folder's permissions, "
                    + "or set XDG_STATE_HOME to a writable folder", underlying: error)
        }
        defer { try? log.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ProcessBackend.currentExecutable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        do {
            try process.run()
        } catch {
            throw RunError(code: .backendFailed, message: "cannot start the detached driver: \(error)", underlying: error)
        }
        let pid = process.processIdentifier
        try? Data("\(pid)\n".utf8).write(to: URL(fileURLWithPath: pidPath), options: .atomic)
        return pid
    }

    /// The process id of this run's background driver, if it is still running on this machine.
    func runningProcess() -> Int32? {
        guard let text = try? String(contentsOfFile: pidPath, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0,
            let commandLine = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))
        else { return nil }
        // The id may have been reused by another process since: it must be this run's driver.
        let arguments = commandLine.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        guard let flag = arguments.firstIndex(of: "--detached-run"), arguments.indices.contains(flag + 1),
            arguments[flag + 1] == runID
        else { return nil }
        return pid
    }

    /// Asks the background driver to stop (SIGTERM: it cancels the run, so its backend stops the workers and no
    /// interrupted file is recorded as failed), waits up to `timeout` for it to exit, then kills whatever is left
    /// of its process group (a command's own children). Returns whether the driver exited.
    func stop(pid: Int32, timeout: Duration = .seconds(150)) async -> Bool {
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + timeout
        while runningProcess() != nil {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(100))
        }
        kill(-pid, SIGKILL)
        return true
    }

    /// In the background driver, before it starts anything: leads a process group of its own (a session, when it
    /// can), so its workers and commands are in that group, and ignores hang-ups.
    static func leadProcessGroup() {
        if setsid() < 0 { _ = setpgid(0, 0) }
        signal(SIGHUP, SIG_IGN)
    }
}
