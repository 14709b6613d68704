import Fanout
import Foundation

/// Deletes a Kubernetes run's Jobs (and so their pods) on the clusters it ran on, and forgets each cluster a fleet
/// run dropped once its Jobs there are gone. `fanout cancel` and `fanout gc` share it.
struct ClusterCleanup {
    /// What became of one cluster.
    struct Outcome {
        /// The fleet's name for the cluster; `nil` for a run on one cluster.
        var cluster: String?
        var namespace: String
        /// Jobs deleted, or why the cluster could not be cleaned up.
        var deleted: Result<Int, any Error>
    }

    let runID: String
    let info: RunCatalog.Info
    let catalog: RunCatalog
    let flags: ClusterOptions

    /// Cleans up every cluster of the run, or only those named in `only`; a cluster that fails does not stop the
    /// others.
    func run(only: Set<String>? = nil) async throws -> [Outcome] {
        let lost = Set((info.lostPlaces ?? []).map(\.place))
        var outcomes: [Outcome] = []
        let clients = try flags.clients(
            environment: try ConfigurationFile.effectiveEnvironment(), placement: info.placement)
        for (name, client) in clients where only.map({ name.map($0.contains) ?? false }) ?? true {
            let runs = KubernetesRuns(client: client)
            do {
                let deleted = try await runs.delete(runID: runID)
                if let name, lost.contains(name) { try await catalog.forgetLostPlace(name, of: runID) }
                outcomes.append(Outcome(cluster: name, namespace: runs.namespace, deleted: .success(deleted)))
            } catch {
                outcomes.append(Outcome(cluster: name, namespace: runs.namespace, deleted: .failure(error)))
            }
        }
        return outcomes
    }

    /// Why a cluster could not be cleaned up, and what to do.
    static func failure(_ error: any Error, cluster: String, runID: String) -> String {
        let reason = "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
        return "cluster \(cluster) could not be cleaned up: \(reason); the run's Jobs there end at their deadline, "
            + "and `fanout cancel \(runID)` removes them once the cluster answers"
    }
}
