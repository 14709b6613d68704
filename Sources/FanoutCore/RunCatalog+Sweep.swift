import FanoutStorage
import Foundation

/// What runs share and no run needs any more: shipped executables and cache entries.
extension RunCatalog {
    /// What ``sweepable(keeping:)`` found.
    public struct Sweep: Sendable {
        /// Keys of shipped executables (`v1/bin/DIGEST`) that no kept run uses.
        public var executables: [String] = []
        /// Keys of cache entries (`v1/cache/STEP/VERSION/HASH.json`) whose run is not kept.
        public var cacheEntries: [String] = []
        /// Cache entries that could not be read, which are left alone.
        public var unreadable: [String] = []
    }

    /// The shipped executables and cache entries that none of `keptRuns` needs.
    ///
    /// A run marks each executable it ships (`v1/runs/RUN/executables/DIGEST`) once the executable is stored, so a
    /// run that starts while this looks may reuse an executable found unused here: delete right after looking, and
    /// prefer times when no run starts. Executables of runs stored before runs marked them are not protected; a
    /// run that needs one again (`fanout attach`) ships it again.
    /// - Parameter keptRuns: the runs that stay (every run under the prefix that is not being deleted).
    public func sweepable(keeping keptRuns: [String]) async throws -> Sweep {
        let layout = RunStateLayout(root: root, runID: "")
        var used = Set<String>()
        for run in keptRuns {
            let uses = RunStateLayout(root: root, runID: run).executableUsesPrefix
            for try await object in store.list(prefix: uses) {
                used.insert(String(object.key.dropFirst(uses.count)))
            }
        }
        var sweep = Sweep()
        for try await object in store.list(prefix: layout.executablesPrefix) {
            let digest = String(object.key.dropFirst(layout.executablesPrefix.count))
            if !used.contains(digest) { sweep.executables.append(object.key) }
        }
        let kept = Set(keptRuns)
        for try await object in store.list(prefix: layout.cachePrefix) where object.key.hasSuffix(".json") {
            do {
                let entry = try StateCoding.decode(
                    CacheIndexEntry.self, from: try await store.get(key: object.key, range: nil, ifMatch: nil), key: object.key)
                if !kept.contains(entry.runID) { sweep.cacheEntries.append(object.key) }
            } catch let error as ObjectStoreError where error.code == .notFound {
                continue
            } catch {
                sweep.unreadable.append(object.key)
            }
        }
        return sweep
    }

    /// Deletes objects by key (as ``sweepable(keeping:)`` returns them).
    public func delete(keys: [String]) async throws {
        var start = 0
        while start < keys.count {
            let end = min(start + 1000, keys.count)
            try await store.delete(keys: Array(keys[start..<end]))
            start = end
        }
    }
}
