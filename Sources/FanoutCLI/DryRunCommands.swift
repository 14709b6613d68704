import Fanout
import Foundation

/// The command lines `--dry-run` shows for the first files of a plan, quoted so a person can paste them in a shell.
enum DryRunCommands {
    /// How many files' command lines are shown.
    static let count = 3

    static func lines(step: CommandStep, plan: ShardPlan, location: String) throws -> [String] {
        let parsed = try StorageLocation.parse(location)
        let files = plan.shards.flatMap(\.files).sorted { $0.ordinal < $1.ordinal }.prefix(count)
        return try files.map { file in
            ShellWords.join(try commandLine(step: step, key: file.key, size: file.size, location: parsed))
        }
    }

    /// The words the file at `key` runs: `{}` is its local path, or `$TMPDIR/NAME` for a download.
    static func commandLine(step: CommandStep, key: String, size: Int64, location: StorageLocation) throws -> [String] {
        let path: String
        switch location.kind {
        case .local(let root): path = root.appendingPathComponent(key).path
        case .bucket: path = "$TMPDIR/" + (key.split(separator: "/").last.map(String.init) ?? key)
        }
        return try step.commandLine(key: key, size: size, path: path, url: location.url(for: key))
    }
}
