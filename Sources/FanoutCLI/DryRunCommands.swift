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
            let path: String
            switch parsed.kind {
            case .local(let root): path = root.appendingPathComponent(file.key).path
            case .s3: path = "$TMPDIR/" + (file.key.split(separator: "/").last.map(String.init) ?? file.key)
            }
            let url = parsed.url(for: file.key)
            return ShellWords.join(try step.commandLine(key: file.key, size: file.size, path: path, url: url))
        }
    }
}
