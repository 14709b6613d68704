public import Foundation

/// A program run in a real terminal: a tmux server of its own (a private socket, no configuration file) with one
/// detached session of a fixed size. Tests read what the screen shows (`capture-pane`), not the escape codes that
/// drew it.
public final class TerminalSession: Sendable {
    private let folder: URL
    private let environment: [String: String]
    private var socket: String { folder.appendingPathComponent("tmux.sock").path }
    private var exitFile: URL { folder.appendingPathComponent("exit-status") }

    private init(folder: URL, environment: [String: String]) {
        self.folder = folder
        var environment = environment
        environment["TMUX"] = nil
        environment["TERM"] = environment["TERM"] ?? "xterm"
        self.environment = environment
    }

    /// Runs `executable` with `arguments` in a terminal of `width` x `height` characters, with `environment`, then
    /// `body`; the tmux server is killed at the end, whatever happens.
    public static func run<T>(
        _ executable: URL, _ arguments: [String], environment: [String: String], width: Int = 120, height: Int = 40,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (TerminalSession) async throws -> T
    ) async throws -> T {
        try await withTemporaryDirectory { folder in
            let session = TerminalSession(folder: folder, environment: environment)
            do {
                try await session.start(executable, arguments, width: width, height: height)
                let result = try await body(session)
                await session.kill()
                return result
            } catch {
                await session.kill()
                throw error
            }
        }
    }

    /// The program runs in `sh`, which records its exit status and then waits, so the screen stays to be read; a
    /// Ctrl-C typed for the program does not stop it.
    ///
    /// The tmux server is started with no descriptor but the standard three: on Linux, `Process` learns that a child
    /// ended when a socket it handed down closes, and a server that kept it would keep the client that started
    /// it from ever being seen to end.
    private func start(_ executable: URL, _ arguments: [String], width: Int, height: Int) async throws {
        let script = #"trap : INT; status=$1; shift; "$@"; echo $? > "$status.partial" && "#
            + #"mv "$status.partial" "$status"; exec sleep 600"#
        let closingDescriptors =
            #"for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done; exec "$@""#
        let started = try await runProcess(
            URL(fileURLWithPath: "/bin/bash"),
            ["-c", closingDescriptors, "bash"] + tmuxCommand
                + ["new-session", "-d", "-s", "test", "-x", String(width), "-y", String(height), "sh", "-c", script,
                   "sh", exitFile.path, executable.path] + arguments,
            environment: environment)
        guard started.status == 0 else { throw Failure(description: "tmux new-session: \(started.stderr)") }
    }

    /// The lines on the screen and in its scrollback, lines the terminal wrapped joined again, without the blank
    /// lines below the last one.
    public func screen() async throws -> [String] {
        let captured = try await tmux(["capture-pane", "-p", "-J", "-S", "-", "-t", "test"])
        guard captured.status == 0 else { throw Failure(description: "tmux capture-pane: \(captured.stderr)") }
        var lines = captured.stdout.components(separatedBy: "\n")
        while let last = lines.last, last.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeLast() }
        return lines
    }

    /// Reads the screen until it satisfies `condition`, and returns it.
    /// - Throws: when `timeout` passes first, with the last screen.
    @discardableResult
    public func waitForScreen(
        timeout: Duration = .seconds(30), until condition: ([String]) -> Bool
    ) async throws -> [String] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let lines = try await screen()
            if condition(lines) { return lines }
            guard ContinuousClock.now < deadline else {
                throw Failure(
                    description: "the screen did not show what was awaited:\n" + lines.joined(separator: "\n"))
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Types `keys` as tmux names them: `C-c` is Ctrl-C.
    public func sendKeys(_ keys: String...) async throws {
        let sent = try await tmux(["send-keys", "-t", "test"] + keys)
        guard sent.status == 0 else { throw Failure(description: "tmux send-keys: \(sent.stderr)") }
    }

    /// Waits for the program to exit and returns its exit status.
    public func waitForExit(timeout: Duration = .seconds(60)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let text = try? String(contentsOf: exitFile, encoding: .utf8),
                let status = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                return status
            }
            guard ContinuousClock.now < deadline else {
                let lines = (try? await screen()) ?? []
                throw Failure(description: "the program did not exit:\n" + lines.joined(separator: "\n"))
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    private func kill() async {
        _ = try? await tmux(["kill-server"])
    }

    /// tmux on this session's socket, with every signal unblocked and at its default: a process started from a test
    /// inherits the signal mask of the thread that started it, and a tmux server with SIGCHLD blocked never sees
    /// its panes end.
    private var tmuxCommand: [String] {
        ["/usr/bin/env", "--default-signal", "tmux", "-S", socket, "-f", "/dev/null"]
    }

    private func tmux(_ arguments: [String]) async throws -> FanoutBinary.Result {
        try await runProcess(
            URL(fileURLWithPath: tmuxCommand[0]), Array(tmuxCommand.dropFirst()) + arguments, environment: environment)
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }
}
