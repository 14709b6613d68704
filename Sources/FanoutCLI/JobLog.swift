import Fanout
import Foundation

/// GNU parallel's `--joblog FILE`: a tab-separated line per file as its outcome arrives, under parallel's header, so
/// the tools that read parallel's job logs read Fanout's. One column is added at the end: the attempt of the file's
/// shard that ran it.
///
/// `Seq` is the file's place in the run (1-based, key order); `Host` is `:` for a run on this machine, else the
/// backend; `Starttime` and `JobRuntime` are seconds; `Send` is 0; `Receive` is the bytes of output; `Exitval` and
/// `Signal` are how the program ended, with `Exitval` -1 for a file whose program never ended (it could not start,
/// or its shard failed as a whole); `Command` is the command line with the file's values, quoted for a shell and kept
/// on one line. The log is written anew each time the run is driven, with every file of the run so far; files whose
/// results were reused from an earlier run did not run and get no line.
final class JobLog: @unchecked Sendable {
    static let header = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\tAttempt\n"

    private let handle: FileHandle
    private let path: String
    private let step: CommandStep
    private let location: StorageLocation
    private let host: String
    private let lock = NSLock()

    /// Creates (or empties) the log at `path` and writes the header.
    /// - Throws: ``UsageError`` saying why the file cannot be written.
    init(path: String, step: CommandStep, location: String, backend: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(Self.header.utf8)),
            let handle = FileHandle(forWritingAtPath: path)
        else {
            throw UsageError(message: "cannot write the job log \(path): check that its folder exists and is writable")
        }
        handle.seekToEndOfFile()
        self.handle = handle
        self.path = path
        self.step = step
        self.location = try StorageLocation.parse(location)
        self.host = ["local", "in-process", "processes"].contains(backend) ? ":" : backend
    }

    deinit { try? handle.close() }

    /// Adds the line of `outcome`, unless its result was reused from an earlier run.
    func record(_ outcome: FileOutcome<CommandOutput>) {
        guard !outcome.cached else { return }
        let started = outcome.startedAt ?? Date()
        let exit: (status: Int32, signal: Int32) =
            outcome.exit.map { ($0.status, $0.signal) } ?? (outcome.failure == nil ? 0 : -1, 0)
        let fields = [
            String(outcome.ordinal + 1), host, Self.seconds(started.timeIntervalSince1970),
            Self.seconds(Double(outcome.duration.components.seconds)
                + Double(outcome.duration.components.attoseconds) / 1e18),
            "0", String(outcome.value?.bytes.count ?? 0), String(exit.status), String(exit.signal),
            commandLine(key: outcome.key, size: outcome.size ?? 0), String(outcome.attempt),
        ]
        let line = Data((fields.joined(separator: "\t") + "\n").utf8)
        lock.withLock { handle.write(line) }
    }

    /// The command line the file ran, as `--dry-run` shows it.
    private func commandLine(key: String, size: Int64) -> String {
        let words = (try? DryRunCommands.commandLine(step: step, key: key, size: size, location: location))
            ?? step.command
        return ShellWords.joinOnOneLine(words)
    }

    /// Seconds with three decimals, right-aligned in ten columns, as GNU parallel writes them.
    private static func seconds(_ value: Double) -> String {
        String(format: "%10.3f", value)
    }
}
