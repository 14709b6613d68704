import Foundation

/// Shows how a run is going on standard error: a live line on a terminal, a plain line every few seconds
/// otherwise, nothing with `--quiet`, and JSON events with `--json`.
final class ProgressReporter {
    enum Style { case live, periodic, quiet, json }

    private let style: Style
    private let total: Int
    private let start = ContinuousClock.now
    private var lastDraw = ContinuousClock.now - .seconds(10)
    private(set) var done = 0
    private(set) var failed = 0
    private(set) var cached = 0

    init(style: Style, total: Int) {
        self.style = style
        self.total = total
    }

    static func style(quiet: Bool, json: Bool) -> Style {
        if json { return .json }
        if quiet { return .quiet }
        return isatty(STDERR_FILENO) == 1 ? .live : .periodic
    }

    func started(runID: String, shards: Int, backend: String) {
        switch style {
        case .json:
            event(["event": "start", "run": runID, "files": total, "shards": shards, "backend": backend])
        case .live, .periodic:
            write("run \(runID): \(total) files in \(shards) shard\(shards == 1 ? "" : "s") on \(backend)\n")
        case .quiet:
            break
        }
    }

    func file(key: String, failure: String?, cached: Bool) {
        done += 1
        if failure != nil { failed += 1 }
        if cached { self.cached += 1 }
        switch style {
        case .json:
            var fields: [String: Any] = ["event": "file", "key": key, "ok": failure == nil, "cached": cached]
            if let failure { fields["error"] = failure }
            event(fields)
        case .live:
            if ContinuousClock.now - lastDraw >= .milliseconds(100) || done == total { draw(final: false) }
        case .periodic:
            if ContinuousClock.now - lastDraw >= .seconds(5) { draw(final: false) }
        case .quiet:
            break
        }
    }

    func finished(extra: [String: Any] = [:]) {
        switch style {
        case .json:
            var fields: [String: Any] = [
                "event": "summary", "files": total, "done": done, "failed": failed, "cached": cached,
                "seconds": elapsed,
            ]
            fields.merge(extra) { _, new in new }
            event(fields)
        case .live, .periodic:
            draw(final: true)
        case .quiet:
            break
        }
    }

    private var elapsed: Double {
        let (seconds, attoseconds) = (ContinuousClock.now - start).components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    private func draw(final: Bool) {
        lastDraw = .now
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        var line = "\(done)/\(total) files"
        if failed > 0 { line += ", \(failed) failed" }
        if cached > 0 { line += ", \(cached) cached" }
        line += String(format: ", %.0f files/s", rate)
        if !final, rate > 0, done < total { line += String(format: ", ETA %.0fs", Double(total - done) / rate) }
        if final { line += String(format: ", %.1fs", elapsed) }
        switch style {
        case .live: write("\r\u{1B}[K" + line + (final ? "\n" : ""))
        default: write(line + "\n")
        }
    }

    private func event(_ fields: [String: Any]) {
        guard let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return }
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
