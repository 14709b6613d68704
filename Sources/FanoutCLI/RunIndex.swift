import Fanout
import Foundation

/// The runs started from this machine and where each keeps its state, so that `runs`, `status`, `results`,
/// `logs`, `attach` and `cancel` find them without `--state`.
///
/// One small file per run, `RUN.json` in ``DetachedDriver/folder(environment:)`` (beside a detached run's log),
/// written when `fanout run` has stored the run, deleted by `fanout gc` with the run:
///
/// ```
/// {"runID": "20261124-203512-9f3c01ab", "state": "s3://my-bucket/fanout-state/", "input": "s3://my-bucket/logs/"}
/// ```
///
/// The index is a convenience: a run's state is the only truth about it, and a run missing from the index (started
/// on another machine, or by a program) is found with `--state`.
struct RunIndex: Sendable {
    /// One indexed run.
    struct Entry: Codable, Sendable, Hashable {
        var runID: String
        var state: String
        var input: String?
    }

    /// The folder holding the entries.
    let folder: String

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        folder = DetachedDriver.folder(environment: environment)
    }

    private func path(of runID: String) -> String { folder + "/\(runID).json" }

    /// Records that `runID` keeps its state under `state`. A failure to write is reported on standard error and
    /// otherwise ignored: the run goes on, and is found with `--state`.
    func record(runID: String, state: String, input: String?) {
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let data = try JSONEncoder().encode(Entry(runID: runID, state: state, input: input))
            try data.write(to: URL(fileURLWithPath: path(of: runID)), options: .atomic)
        } catch {
            FileHandle.standardError.write(Data(
                "note: cannot record run \(runID) in \(folder) (\(error)); later commands need --state \(state)\n"
                    .utf8))
        }
    }

    /// The indexed run `runID`, if any.
    func entry(_ runID: String) -> Entry? {
        guard let data = FileManager.default.contents(atPath: path(of: runID)) else { return nil }
        return try? JSONDecoder().decode(Entry.self, from: data)
    }

    /// Every indexed run, newest first (run ids sort by creation time).
    func entries() -> [Entry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted(by: >)
            .compactMap { entry(String($0.dropLast(".json".count))) }
    }

    /// Forgets `runID`.
    func remove(_ runID: String) {
        try? FileManager.default.removeItem(atPath: path(of: runID))
    }
}
