import ArgumentParser
import Fanout
import Foundation

/// Per-file limits as xargs and GNU parallel users know them: a time limit and the exit statuses that succeed.
struct ParallelOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Stop a file's command after this long (30s, 5m, 1h): its whole process group is stopped and the file fails "
            + "with \"timed out after ...\". Default: no limit.", valueName: "duration"))
    var timeout: DurationText?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "The exit statuses that mean success, comma-separated (default 0), for example 0,1 for grep -c, which "
            + "exits 1 when it counts nothing.", valueName: "codes"))
    var acceptExit: String?

    func validate() throws {
        if let timeout, timeout.seconds < 1 { throw ValidationError("--timeout must be at least 1s") }
        _ = try acceptedExitStatuses()
    }

    /// What the flags ask of each file's command.
    func limits() throws -> CommandStep.Limits {
        CommandStep.Limits(timeoutSeconds: timeout.map { Double($0.seconds) }, acceptedExitStatuses: try acceptedExitStatuses())
    }

    private func acceptedExitStatuses() throws -> Set<Int32> {
        guard let acceptExit else { return [0] }
        var statuses: Set<Int32> = []
        for part in acceptExit.split(separator: ",", omittingEmptySubsequences: false) {
            guard let status = Int32(part.trimmingCharacters(in: .whitespaces)), (0...255).contains(status) else {
                throw ValidationError("--accept-exit takes exit statuses 0 to 255 separated by commas (0,1), not '\(acceptExit)'")
            }
            statuses.insert(status)
        }
        return statuses
    }
}
