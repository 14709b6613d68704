import Foundation
import Logging

/// The CLI's log lines: `level: message key=value ...` on standard error, through ``Terminal`` so that they never
/// share a line with the status line.
///
/// The level is `FANOUT_LOG_LEVEL` (trace, debug, info, notice, warning, error, critical), default notice: what a
/// backend also reports as a notice is logged at debug level, so each thing is said once.
struct TerminalLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level

    init(level: Logger.Level) {
        logLevel = level
    }

    /// The level `FANOUT_LOG_LEVEL` names, else notice.
    static func level(environment: [String: String]) -> Logger.Level {
        environment["FANOUT_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .notice
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let fields = self.metadata.merging(event.metadata ?? [:]) { _, new in new }
        let suffix = fields.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        Terminal.shared.note("\(event.level): \(event.message)\(suffix)")
    }
}
