import Fanout
import Foundation
import Synchronization

/// Shows how a run is going on standard error: a live line on a terminal (redrawn every second even while no file
/// finishes, so pending pods and a growing elapsed time show), a plain line every few seconds otherwise, nothing with
/// `--quiet`, and JSON events on standard output with `--json`.
final class ProgressReporter: Sendable {
    enum Style { case live, periodic, quiet, json }

    private let style: Style
    private let start = ContinuousClock.now
    private let state: Mutex<State>

    private struct State {
        var total: Int
        var lastDraw = ContinuousClock.now - .seconds(10)
        var done = 0
        var failed = 0
        var cached = 0
        var workers: (running: Int, pending: Int)?
        var ticker: Task<Void, Never>?
        var finished = false
        var detail: String?
    }

    init(style: Style) {
        self.style = style
        state = Mutex(State(total: 0))
    }

    static func style(quiet: Bool, json: Bool) -> Style {
        if json { return .json }
        if quiet { return .quiet }
        return isatty(STDERR_FILENO) == 1 ? .live : .periodic
    }

    var failed: Int { state.withLock { $0.failed } }

    /// The run of `files` files has started.
    func started(runID: String, shards: Int, backend: String, files: Int) {
        let total = files
        state.withLock { $0.total = files }
        switch style {
        case .json:
            event(["event": "start", "run": runID, "files": total, "shards": shards, "backend": backend])
        case .live, .periodic:
            write("run \(runID): \(total) files in \(shards) shard\(shards == 1 ? "" : "s") on \(backend)\n")
            startTicking()
        case .quiet:
            break
        }
    }

    func file(key: String, failure: String?, cached: Bool) {
        let due = state.withLock { state -> Bool in
            state.done += 1
            if failure != nil { state.failed += 1 }
            if cached { state.cached += 1 }
            let since = ContinuousClock.now - state.lastDraw
            switch style {
            case .live: return since >= .milliseconds(100) || state.done == state.total
            case .periodic: return since >= .seconds(5)
            case .json, .quiet: return false
            }
        }
        switch style {
        case .json:
            var fields: [String: Any] = ["event": "file", "key": key, "ok": failure == nil, "cached": cached]
            if let failure { fields["error"] = failure }
            event(fields)
        case .live, .periodic:
            if due { draw(final: false) }
        case .quiet:
            break
        }
    }

    /// What the backend reports: worker counts go into the line, notices are printed above it.
    func backend(_ backendEvent: BackendEvent) {
        switch backendEvent {
        case .workers(let running, let pending):
            state.withLock { $0.workers = (running, pending) }
            if style == .json { event(["event": "workers", "running": running, "pending": pending]) }
        case .notice(let message):
            switch style {
            case .json: event(["event": "notice", "message": message])
            case .live: write("\r\u{1B}[K" + message + "\n")
            case .periodic: write(message + "\n")
            case .quiet: break
            }
        }
    }

    /// The run has ended. `extra` joins the JSON summary; `detail` ends the last line on a terminal.
    func finished(extra: [String: Any] = [:], detail: String? = nil) {
        let snapshot = state.withLock { state in
            state.finished = true
            state.detail = detail
            state.ticker?.cancel()
            return state
        }
        switch style {
        case .json:
            var fields: [String: Any] = [
                "event": "summary", "files": snapshot.total, "done": snapshot.done, "failed": snapshot.failed,
                "cached": snapshot.cached, "seconds": elapsed,
            ]
            fields.merge(extra) { _, new in new }
            event(fields)
        case .live, .periodic:
            draw(final: true)
        case .quiet:
            break
        }
    }

    /// Redraws on its own while no file finishes: every second on a terminal, every 30 seconds otherwise.
    private func startTicking() {
        let interval: Duration = style == .live ? .seconds(1) : .seconds(30)
        let ticker = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard let self, !Task.isCancelled else { return }
                let due = self.state.withLock { !$0.finished && ContinuousClock.now - $0.lastDraw >= interval }
                if due { self.draw(final: false) }
            }
        }
        state.withLock { $0.ticker = ticker }
    }

    private var elapsed: Double {
        (ContinuousClock.now - start).inSeconds
    }

    private func draw(final: Bool) {
        let snapshot = state.withLock { state in
            state.lastDraw = .now
            return state
        }
        if snapshot.finished && !final { return }
        let elapsed = elapsed
        let rate = elapsed > 0 ? Double(snapshot.done) / elapsed : 0
        var line = "\(snapshot.done)/\(snapshot.total) files"
        if snapshot.failed > 0 { line += ", \(snapshot.failed) failed" }
        if snapshot.cached > 0 { line += ", \(snapshot.cached) cached" }
        if !final, let workers = snapshot.workers {
            line += ", \(workers.running) running"
            if workers.pending > 0 { line += ", \(workers.pending) pending" }
        }
        line += String(format: ", %.0f files/s", rate)
        if !final, rate > 0, snapshot.done < snapshot.total {
            line += String(format: ", ETA %.0fs", Double(snapshot.total - snapshot.done) / rate)
        }
        line += String(format: final ? ", %.1fs" : ", %.0fs elapsed", elapsed)
        if final, let detail = snapshot.detail { line += ", " + detail }
        switch style {
        case .live: write("\r\u{1B}[K" + line + (final ? "\n" : ""))
        default: write(line + "\n")
        }
    }

    private func event(_ fields: [String: Any]) {
        FileHandle.standardOutput.write(Data((JSONLine.encode(fields) + "\n").utf8))
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
