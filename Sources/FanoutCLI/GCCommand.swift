import ArgumentParser
import Fanout
import Foundation

struct GCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Delete the stored state of runs older than a limit.",
        discussion: """
            Deletes each run's folder under the state prefix, the log of its background driver on this machine \
            (runs started with --detach) and its entry in this machine's index of runs. \
            A run whose background driver still runs is kept, and so is a run whose \
            driver, on any machine, holds its lease. A fleet run that dropped a cluster has its Jobs there deleted \
            first, and is kept while that cluster does not answer. Then deletes the executables shipped to pods that no kept run \
            uses, and the cache entries of runs that are gone.

            Examples:
              fanout gc --older-than 7d --state s3://my-bucket/fanout-state/
              fanout gc --older-than 1d --dry-run
            """
    )

    @Option(help: "Delete runs created longer ago than this: 12h, 7d.") var olderThan: DurationText
    @Flag(help: "List what would be deleted, delete nothing.") var dryRun = false
    @Flag(help: "Also delete unfinished runs (interrupted, or still running elsewhere: their workers need the state). A run whose driver holds its lease is kept even so.")
    var includeUnfinished = false
    @OptionGroup var state: StateOption
    @OptionGroup(title: "S3") var storage: StorageOptions

    func run() async throws {
        try await reportingErrors {
            let catalog = try RunCatalog(state: try state.resolved(), stores: try storage.stores())
            let cutoff = Date().addingTimeInterval(-TimeInterval(olderThan.seconds))
            var deleted = 0
            var kept: [String] = []
            for id in try await catalog.runIDs() {
                kept.append(id)
                guard let info = try? await catalog.info(id), info.createdAt < cutoff else { continue }
                let driver = DetachedDriver(runID: id)
                if let pid = driver.runningProcess() {
                    print("keeping \(id): its background driver (process \(pid)) still runs it")
                    continue
                }
                // A driver anywhere that holds the run's lease is driving it now, whatever the flags say.
                if let holder = info.driver {
                    print("keeping \(id): driven by \(holder) (its lease runs until "
                        + "\(DateText.iso8601(info.driverLeaseExpiresAt ?? Date())) unless renewed)")
                    continue
                }
                // An unfinished run may still be driven from elsewhere; its workers need its state.
                if info.finishedAt == nil && !includeUnfinished {
                    print("keeping \(id): unfinished (--include-unfinished deletes it too)")
                    continue
                }
                // The clusters a fleet run dropped may still hold its Jobs: the record of them goes only with them.
                if let lost = info.lostPlaces, !lost.isEmpty {
                    guard try await cleanUp(lost.map(\.place), of: info, catalog) else { continue }
                }
                print("\(dryRun ? "would delete" : "deleting") \(id) (\(info.status), created \(DateText.iso8601(info.createdAt)))")
                if !dryRun {
                    try await catalog.delete(id)
                    driver.removeFiles()
                }
                kept.removeLast()
                deleted += 1
            }
            print("\(deleted) run\(deleted == 1 ? "" : "s") \(dryRun ? "to delete" : "deleted")")
            if !dryRun { Self.prune(RunIndex(), state: catalog.state, keeping: Set(kept)) }
            try await sweep(catalog, keeping: kept)
        }
    }
}

extension GCCommand {
    /// Forgets the indexed runs under `state` that are not among `kept`: deleted now, or gone before.
    static func prune(_ index: RunIndex, state: String, keeping kept: Set<String>) {
        for entry in index.entries() where entry.state == state && !kept.contains(entry.runID) {
            index.remove(entry.runID)
        }
    }

    /// Deletes a run's Jobs on the clusters it dropped; whether none is left, so its state may go.
    private func cleanUp(_ clusters: [String], of info: RunCatalog.Info, _ catalog: RunCatalog) async throws -> Bool {
        let names = clusters.joined(separator: ", ")
        if dryRun {
            print("would remove the Jobs of \(info.runID) on the cluster\(clusters.count == 1 ? "" : "s") it dropped (\(names)) first")
            return true
        }
        let cleanup = ClusterCleanup(runID: info.runID, info: info, catalog: catalog, flags: try ClusterOptions.parse([]))
        var clean = true
        for outcome in try await cleanup.run(only: Set(clusters)) {
            let name = outcome.cluster ?? "?"
            switch outcome.deleted {
            case .success(let deleted):
                print("removed \(deleted) Job\(deleted == 1 ? "" : "s") of \(info.runID) left on cluster \(name)")
            case .failure(let error):
                clean = false
                print("keeping \(info.runID): \(ClusterCleanup.failure(error, cluster: name, runID: info.runID))")
            }
        }
        return clean
    }

    /// Deletes the shipped executables no kept run uses and the cache entries of runs that are gone.
    private func sweep(_ catalog: RunCatalog, keeping kept: [String]) async throws {
        let sweep = try await catalog.sweepable(keeping: kept)
        let verb = dryRun ? "would delete" : "deleting"
        for key in sweep.executables { print("\(verb) the shipped executable \(key): no kept run uses it") }
        for key in sweep.cacheEntries { print("\(verb) the cache entry \(key): its run is gone") }
        for key in sweep.unreadable { print("keeping the cache entry \(key): it cannot be read") }
        if !dryRun { try await catalog.delete(keys: sweep.executables + sweep.cacheEntries) }
    }
}
