import ArgumentParser
import Fanout
import Foundation

/// Per-file limits as xargs and GNU parallel users know them: a time limit, the exit statuses that succeed, and
/// stopping at the first failures.
struct ParallelOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Stop a file's command after this long (30s, 5m, 1h): its whole process group is stopped and the file fails "
            + "with \"timed out after ...\". Default: no limit.", valueName: "duration"))
    var timeout: DurationText?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "The exit statuses that mean success, comma-separated (default 0), for example 0,1 for grep -c, which "
            + "exits 1 when it counts nothing.", valueName: "codes"))
    var acceptExit: String?

    @Option(help: ArgumentHelp(
        "Stop the run once N files have failed, as GNU parallel's --halt: now,fail=N stops the running commands at "
            + "once; soon,fail=N starts no more shards and lets the running ones finish. The run fails (exit 1); "
            + "results stored so far stay, and `fanout attach` can finish it.", valueName: "now|soon,fail=N"))
    var halt: String?

    @Flag(help: "Stop the run at the first failed file: --halt now,fail=1.")
    var failFast = false

    func validate() throws {
        if let timeout, timeout.seconds < 1 { throw ValidationError("--timeout must be at least 1s") }
        _ = try acceptedExitStatuses()
        _ = try haltAfterFailures()
    }

    /// After how many failed files the run stops, and how; `nil` to run every file.
    func haltAfterFailures() throws -> (count: Int, mode: RunOptions.Halt)? {
        if failFast {
            guard halt == nil else { throw ValidationError("--fail-fast is --halt now,fail=1: give one of them") }
            return (1, .now)
        }
        guard let halt else { return nil }
        let parts = halt.split(separator: ",", maxSplits: 1).map(String.init)
        let modes: [String: RunOptions.Halt] = ["now": .now, "soon": .soon]
        guard parts.count == 2, let mode = modes[parts[0]], parts[1].hasPrefix("fail="),
            let count = Int(parts[1].dropFirst("fail=".count)), count >= 1
        else {
            throw ValidationError(
                "--halt takes now,fail=N or soon,fail=N with N at least 1 (now,fail=1 stops at the first failure), "
                    + "not '\(halt)'")
        }
        return (count, mode)
    }

    /// `options` with the failure tolerance that stops the run at ``haltAfterFailures()``.
    /// - Throws: ``ValidationError`` when `--tolerate-failures` was given too.
    func applyHalt(to options: inout RunOptions, tolerateFailures: String?) throws {
        guard let (count, mode) = try haltAfterFailures() else { return }
        guard tolerateFailures == nil else {
            throw ValidationError(
                "--halt and --fail-fast stop at a number of failures, as --tolerate-failures does: give one of them")
        }
        // A count tolerance is checked as each file fails, and the run stops once it is exceeded.
        options.tolerance = .count(count - 1)
        options.halt = mode
    }

    /// What the flags ask of each file's command.
    func limits() throws -> CommandStep.Limits {
        CommandStep.Limits(
            timeoutSeconds: timeout.map { Double($0.seconds) }, acceptedExitStatuses: try acceptedExitStatuses())
    }

    private func acceptedExitStatuses() throws -> Set<Int32> {
        guard let acceptExit else { return [0] }
        var statuses: Set<Int32> = []
        for part in acceptExit.split(separator: ",", omittingEmptySubsequences: false) {
            guard let status = Int32(part.trimmingCharacters(in: .whitespaces)), (0...255).contains(status) else {
                throw ValidationError(
                    "--accept-exit takes exit statuses 0 to 255 separated by commas (0,1), not '\(acceptExit)'")
            }
            statuses.insert(status)
        }
        return statuses
    }
}
