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
        var problems: Set<String> = []
        var withoutDriver = 0
        while true {
            // Read before showing, so the last pass shows everything a finished run recorded.
            let info = try await catalog.infoExplained(runID)
            if onKubernetes { await showPodLogs(&shownLog, problems: &problems) }
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

    /// Shows what each pod of the run logged since the last check, on every cluster it ran on: a fleet run's lines
    /// name their cluster. A cluster that cannot be read is said once, and the others are still shown.
    private func showPodLogs(_ shown: inout [String: Int], problems: inout Set<String>) async {
        let clients: [(cluster: String?, client: KubernetesClient)]
        do {
            clients = try command.cluster.clients(environment: environment, placement: placement)
        } catch {
            if problems.insert("\(error)").inserted {
                FileHandle.standardError.write(Data("cannot read the pods' logs: \(error)\n".utf8))
            }
            return
        }
        for (cluster, client) in clients {
            do {
                let pods = try await client.listAll(Pod.self, labelSelector: KubernetesLabels.selector(runID: runID))
                    .items.filter { command.shard == nil || $0.fanoutShard == command.shard }
                for pod in pods {
                    guard let name = pod.metadata.name else { continue }
                    let logName = "pod/\(cluster ?? "")/\(name)"
                    guard let log = try? await client.logs(pod: name, tailLines: shown[logName] == nil ? command.tail : nil)
                    else { continue }
                    show(newPart(of: log, name: logName, shown: &shown), of: pod, name: name, cluster: cluster)
                }
            } catch {
                let on = cluster.map { " on cluster \($0)" } ?? ""
                if problems.insert("\(on)\u{0}\(error)").inserted {
                    FileHandle.standardError.write(Data("cannot read the pods' logs\(on): \(error)\n".utf8))
                }
            }
        }
    }

    private func show(_ text: String, of pod: Pod, name: String, cluster: String?) {
        guard !text.isEmpty else { return }
        if command.json {
            var fields: [String: Any] = ["type": "pod", "pod": name, "phase": pod.phase, "log": text]
            if let shard = pod.fanoutShard { fields["shard"] = shard }
            if let cluster { fields["cluster"] = cluster }
            print(JSONLine.encode(fields))
            return
        }
        let label = cluster.map { "[\($0) pod \(name)]" } ?? "[pod \(name)]"
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast(text.hasSuffix("\n") ? 1 : 0) {
            print("\(label) \(line)")
        }
    }
}
