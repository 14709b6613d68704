import CoreFoundation
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The one writer of standard output and standard error while a run shows its live status line.
///
/// The status line is the last line of the terminal, on standard error, drawn without a newline and redrawn in
/// place. Whatever else is printed while it shows (results on standard output when that is the same terminal,
/// notices, log lines) goes through here and lands on lines of its own: the status line is cleared, the text
/// printed, and the status line drawn again below it. Standard output is held back to its last newline meanwhile,
/// so a result line is never cut by a redraw. Standard output that is not that terminal is written as it comes.
final class Terminal: Sendable {
    static let shared = Terminal()

    private struct State {
        /// The status line on the screen, if any.
        var status: String?
        /// Standard output after its last newline, held while the status line shows.
        var heldOutput = Data()
        /// The cursor is after text that did not end its line (a last output line without a newline).
        var midLine = false
    }

    private let state = Mutex(State())
    /// Standard error is a terminal: the status line can be drawn.
    let errorIsTerminal: Bool
    /// Standard output is the terminal standard error is on.
    let outputSharesScreen: Bool

    private init() {
        errorIsTerminal = isatty(STDERR_FILENO) == 1
        outputSharesScreen =
            errorIsTerminal && isatty(STDOUT_FILENO) == 1 && Self.sameDevice(STDOUT_FILENO, STDERR_FILENO)
    }

    /// Draws `line` as the status line, in place of the one shown; cut to the terminal's width, so it never wraps.
    func showStatus(_ line: String) {
        state.withLock { state in
            state.status = Self.fitted(line)
            Self.write(STDERR_FILENO, Self.statusText(&state))
        }
    }

    /// Removes the status line and prints `line` in its place, with a newline: the last thing a run shows.
    /// - Parameter afterKeypress: the terminal may have echoed a key (Ctrl-C's `^C`) where the cursor is.
    func endStatus(with line: String?, afterKeypress: Bool = false) {
        state.withLock { state in
            var text = state.status == nil ? (afterKeypress ? "\n" : "") : "\r\u{1B}[K"
            state.status = nil
            Self.write(STDERR_FILENO, text)
            releaseHeldOutput(&state)
            text = state.midLine ? "\n" : ""
            if let line { text += line + "\n" }
            state.midLine = false
            Self.write(STDERR_FILENO, text)
        }
    }

    /// Prints `text` on standard error on lines of its own, above the status line if one shows.
    /// - Parameter afterKeypress: the terminal may have echoed a key (Ctrl-C's `^C`) where the cursor is.
    func note(_ text: String, afterKeypress: Bool = false) {
        let text = text.hasSuffix("\n") ? text : text + "\n"
        state.withLock { state in
            guard state.status != nil else {
                Self.write(STDERR_FILENO, (state.midLine || afterKeypress ? "\n" : "") + text)
                state.midLine = false
                return
            }
            Self.write(STDERR_FILENO, "\r\u{1B}[K" + text + Self.statusText(&state))
        }
    }

    /// Writes `data` to standard output, keeping it off the status line.
    func output(_ data: Data) {
        guard !data.isEmpty else { return }
        guard outputSharesScreen else {
            FileHandle.standardOutput.write(data)
            return
        }
        state.withLock { state in
            guard state.status != nil else {
                FileHandle.standardOutput.write(data)
                state.midLine = data.last != UInt8(ascii: "\n")
                return
            }
            state.heldOutput.append(data)
            guard let end = state.heldOutput.lastIndex(of: UInt8(ascii: "\n")) else { return }
            let lines = state.heldOutput[...end]
            state.heldOutput = Data(state.heldOutput[(end + 1)...])
            Self.write(STDERR_FILENO, "\r\u{1B}[K")
            FileHandle.standardOutput.write(Data(lines))
            Self.write(STDERR_FILENO, Self.statusText(&state))
        }
    }

    /// Writes the standard output held back for want of a newline, the status line going below it.
    func flushOutput() {
        state.withLock { state in
            guard state.status != nil, !state.heldOutput.isEmpty else { return }
            Self.write(STDERR_FILENO, "\r\u{1B}[K")
            releaseHeldOutput(&state)
            Self.write(STDERR_FILENO, Self.statusText(&state))
        }
    }

    private func releaseHeldOutput(_ state: inout State) {
        guard !state.heldOutput.isEmpty else { return }
        FileHandle.standardOutput.write(state.heldOutput)
        state.heldOutput.removeAll()
        state.midLine = true
    }

    /// The status line, drawn from the start of a line of its own.
    private static func statusText(_ state: inout State) -> String {
        guard let status = state.status else { return "" }
        defer { state.midLine = false }
        return (state.midLine ? "\n" : "\r\u{1B}[K") + status
    }

    private static func write(_ descriptor: Int32, _ text: String) {
        guard !text.isEmpty else { return }
        let handle = descriptor == STDOUT_FILENO ? FileHandle.standardOutput : FileHandle.standardError
        handle.write(Data(text.utf8))
    }

    /// `line` cut to one character less than the terminal's width, so that the cursor stays on its row.
    private static func fitted(_ line: String) -> String {
        var size = winsize()
        let found = withUnsafeMutablePointer(to: &size) { ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), $0) } == 0
        guard found, size.ws_col > 1, line.count >= Int(size.ws_col) else { return line }
        return String(line.prefix(Int(size.ws_col) - 1))
    }

    private static func sameDevice(_ first: Int32, _ second: Int32) -> Bool {
        var a = stat()
        var b = stat()
        guard fstat(first, &a) == 0, fstat(second, &b) == 0 else { return false }
        return a.st_rdev == b.st_rdev
    }
}
