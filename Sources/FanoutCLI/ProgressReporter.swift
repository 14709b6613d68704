import Fanout
import Foundation
import Synchronization

/// Shows how a run is going on standard error: a live line on a terminal (redrawn every second even while no file
/// finishes, so pending pods and a growing elapsed time show), a plain line every few seconds otherwise, nothing with
/// `--quiet`, and JSON events on standard output with `--json`. Everything goes through ``Terminal``, so the live
/// line never shares a line with results, notices or log lines.
///
/// The live line shows an ETA only once it means something (``estimatedRemaining(computed:remaining:elapsed:)``).
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
        return Terminal.shared.errorIsTerminal ? .live : .periodic
    }

    /// Files computed in this run (results reused from the cache arrive at once and say nothing of the pace) before
    /// an ETA is shown.
    static let etaMinimumFiles = 10
    /// How long a run goes before an ETA is shown: the first files' pace includes starting the workers.
    static let etaMinimumElapsed = Duration.seconds(3)

    /// The time the `remaining` files should take at the pace of the `computed` ones so far; `nil` until at least
    /// ``etaMinimumFiles`` were computed and ``etaMinimumElapsed`` has passed, and when nothing remains.
    static func estimatedRemaining(computed: Int, remaining: Int, elapsed: Duration) -> Duration? {
        guard computed >= etaMinimumFiles, elapsed >= etaMinimumElapsed, remaining > 0 else { return nil }
        return elapsed * (Double(remaining) / Double(computed))
    }

    /// `45s`, `2m05s`, `1h02m`: a duration as a person reads it.
    static func clock(_ duration: Duration) -> String {
        let seconds = Int(duration.inSeconds.rounded())
        if seconds < 60 { return "\(seconds)s" }
        if seconds < 3600 { return "\(seconds / 60)m" + String(format: "%02ds", seconds % 60) }
        return "\(seconds / 3600)h" + String(format: "%02dm", seconds / 60 % 60)
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
            Terminal.shared.note(
                "run \(runID): \(CountText.of(total, "file")) in \(CountText.of(shards, "shard")) on \(backend)")
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

    /// What the run reports: worker counts go into the line, notices are printed above it; `--json` also gets each
    /// attempt launched, running and ended.
    func backend(_ runEvent: RunEvent) {
        switch runEvent {
        case .workers(let running, let pending):
            state.withLock { $0.workers = (running, pending) }
            if style == .json { event(["event": "workers", "running": running, "pending": pending]) }
        case .notice(let message):
            switch style {
            case .json: event(["event": "notice", "message": message])
            case .live, .periodic: Terminal.shared.note(message)
            case .quiet: break
            }
        case .launched(let launch):
            guard style == .json else { return }
            var fields: [String: Any] = [
                "event": "launched", "shard": launch.id.shard, "attempt": launch.id.number, "backup": launch.isBackup,
            ]
            if let memory = launch.memoryBytes { fields["memoryBytes"] = Int(memory) }
            event(fields)
        case .attempt(.running(let id)):
            if style == .json { event(["event": "running", "shard": id.shard, "attempt": id.number]) }
        case .attempt(.exited(let id, let exit)):
            guard style == .json else { return }
            var fields: [String: Any] = [
                "event": "exited", "shard": id.shard, "attempt": id.number, "outcome": exit.outcome,
            ]
            if let reason = exit.reason { fields["reason"] = reason }
            event(fields)
        case .attempt(.pending), .attempt(.placeLost), .backend:
            break
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
                "cached": snapshot.cached, "seconds": elapsed.inSeconds,
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

    private var elapsed: Duration {
        ContinuousClock.now - start
    }

    /// Draws the line; under the state's lock, so that no redraw of the ticker lands after the last line.
    private func draw(final: Bool) {
        state.withLock { state in
            state.lastDraw = .now
            if state.finished && !final { return }
            let line = self.line(state, final: final)
            switch style {
            case .live where final: Terminal.shared.endStatus(with: line)
            case .live: Terminal.shared.showStatus(line)
            default: Terminal.shared.note(line)
            }
        }
    }

    private func line(_ snapshot: State, final: Bool) -> String {
        let elapsed = elapsed
        let rate = elapsed > .zero ? Double(snapshot.done) / elapsed.inSeconds : 0
        var line = "\(snapshot.done)/\(snapshot.total) \(CountText.noun(snapshot.total, "file"))"
        if snapshot.failed > 0 { line += ", \(snapshot.failed) failed" }
        if snapshot.cached > 0 { line += ", \(snapshot.cached) cached" }
        if !final, let workers = snapshot.workers {
            line += ", \(workers.running) running"
            if workers.pending > 0 { line += ", \(workers.pending) pending" }
        }
        line += String(format: ", %.0f files/s", rate)
        if !final, let eta = Self.estimatedRemaining(
            computed: snapshot.done - snapshot.cached, remaining: snapshot.total - snapshot.done, elapsed: elapsed)
        {
            line += ", ETA " + Self.clock(eta)
        }
        line += final ? String(format: ", %.1fs", elapsed.inSeconds) : ", \(Self.clock(elapsed)) elapsed"
        if final, let detail = snapshot.detail { line += ", " + detail }
        return line
    }

    private func event(_ fields: [String: Any]) {
        Terminal.shared.output(Data((JSONLine.encode(fields) + "\n").utf8))
    }
}
