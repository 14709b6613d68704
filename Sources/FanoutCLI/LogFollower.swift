import Fanout
import Foundation

/// `fanout logs RUN -f`: shows what a run has recorded, then what it records next, until it finishes.
///
/// Every check reads the run's failures, the background driver's log and (on Kubernetes) its pods' logs, and
/// prints only what is new since the last check: failures not shown yet, and the bytes each log grew by.
struct LogFollower {
    let command: LogsCommand
    let catalog: RunCatalog
    let environment: [String: String]
    let placement: [String: String]?
    let onKubernetes: Bool
    /// How long between checks.
    var interval: Duration = .seconds(2)

    private var runID: String { command.runID }

    func run() async throws {
        var shownFailures: Set<String> = []
        var shownLog: [String: Int] = [:]
        var withoutDriver = 0
        while true {
            // Read before showing, so the last pass shows everything a finished run recorded.
            let info = try await catalog.infoExplained(runID)
            if onKubernetes { await showPodLogs(&shownLog) }
            let failures = try await catalog.failures(runID, shard: command.shard)
                .filter { shownFailures.insert("\($0.attempt)\u{0}\($0.key)").inserted }
            command.printFailures(failures, header: false)
            showDriverLog(&shownLog)
            fflush(nil)
            if info.finishedAt != nil { return }
            withoutDriver = info.driver == nil ? withoutDriver + 1 : 0
            if withoutDriver >= 3 {
                FileHandle.standardError.write(Data("""
                    run \(runID) is unfinished and no driver holds it: go on with `fanout attach \(runID)`

                    """.utf8))
                return
            }
            try await Task.sleep(for: interval)
        }
    }

    /// The part of `text` after what was shown of the log named `name`, and records it as shown.
    private func newPart(of text: String, name: String, shown: inout [String: Int]) -> String {
        let bytes = Array(text.utf8)
        let start = shown[name] ?? 0
        // A log that shrank was replaced (a restarted container): show it from the start.
        let from = bytes.count < start ? 0 : start
        shown[name] = bytes.count
        return String(decoding: bytes[from...], as: UTF8.self)
    }

    private func showDriverLog(_ shown: inout [String: Int]) {
        guard command.shard == nil else { return }
        let driver = DetachedDriver(runID: runID)
        guard let data = FileManager.default.contents(atPath: driver.logPath) else { return }
        let text = newPart(of: String(decoding: data, as: UTF8.self), name: "driver", shown: &shown)
        guard !text.isEmpty else { return }
        if command.json {
            print(JSONLine.encode(["type": "driver", "path": driver.logPath, "log": text]))
        } else {
            print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
        }
    }

    private func showPodLogs(_ shown: inout [String: Int]) async {
        do {
            let client = try command.cluster.client(environment: environment, placement: placement)
            let pods = try await client.listAll(Pod.self, labelSelector: KubernetesLabels.selector(runID: runID)).items
                .filter { command.shard == nil || $0.fanoutShard == command.shard }
            for pod in pods {
                guard let name = pod.metadata.name,
                    let log = try? await client.logs(
                        pod: name, tailLines: shown["pod/" + name] == nil ? command.tail : nil)
                else { continue }
                let text = newPart(of: log, name: "pod/" + name, shown: &shown)
                guard !text.isEmpty else { continue }
                if command.json {
                    var fields: [String: Any] = ["type": "pod", "pod": name, "phase": pod.phase, "log": text]
                    if let shard = pod.fanoutShard { fields["shard"] = shard }
                    print(JSONLine.encode(fields))
                } else {
                    for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast(
                        text.hasSuffix("\n") ? 1 : 0)
                    {
                        print("[pod \(name)] \(line)")
                    }
                }
            }
        } catch {
            FileHandle.standardError.write(Data("cannot read the pods' logs: \(error)\n".utf8))
        }
    }
}
