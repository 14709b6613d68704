import Crypto
import FanoutHTTP
import Foundation
import FanoutStorage

/// Everything a driver needs to drive a run whose spec and plan are stored.
struct PreparedRun: Sendable {
    let step: AnyMapStep
    let spec: RunSpec
    /// The ``RunDigest`` of the stored spec, as written or as confirmed on re-attaching.
    let digest: String
    let state: RunStateStore
    /// This driver's lease on the run; `nil` when only replaying its results.
    let lease: RunLeaseKeeper?
    let stateLocation: String
    let input: any ObjectStore
    let inputLocation: StorageLocation
    /// Shards that still have to run.
    let pendingShards: [Int]
    let shardFileCounts: [Int: Int]
    /// The program's build the run's results are cached under (``AnyMapStep/cacheVersion(build:)``).
    var build: String? = ProgramBuild.id
}

/// Lists, filters, looks up the cache, plans and stores a new run; or reloads a stored one.
struct RunPreparation {
    let fanout: Fanout
    let step: AnyMapStep
    /// Makes run ids; another is asked for when one is taken.
    var newRunID: @Sendable () -> String = { RunStateLayout.newRunID() }
    /// The program's build, which the cache of steps that follow it is keyed by.
    var build: String? = ProgramBuild.id

    func prepare(_ input: Input) async throws -> PreparedRun {
        let inputLocation = try StorageLocation.parse(input.location)
        let inputStore = try inputLocation.store(in: fanout.stores)
        let stateLocationText = fanout.stateLocation(for: inputLocation)
        let stateLocation = try StorageLocation.parse(stateLocationText)
        let stateStore = try stateLocation.store(in: fanout.stores)
        let excluded = Self.stateKeyPrefix(in: inputLocation, state: stateLocation)
        let files = try await Self.listFiles(
            input: input, location: inputLocation, store: inputStore, excludingPrefix: excluded,
            allowEmpty: fanout.options.allowEmptyInput)

        let (state, lease) = try await createRun(in: stateStore, root: stateLocation.prefix)
        let runID = state.layout.runID
        let inputHash = Self.inputHash(input, location: inputLocation)

        // Files carried over from the cache are not planned; `planned` lists the ordinals that are, when not all.
        var carried: [RecordLine] = []
        var planned: [Int32]?
        if fanout.options.cache {
            let previous = try await cachedRecords(state: state, inputHash: inputHash)
            if !previous.isEmpty {
                var ordinals: [Int32] = []
                try files.forEach { file in
                    if let hit = previous[file.key], hit.etag == file.etag {
                        carried.append(hit.record.renumbered(file.ordinal))
                    } else {
                        ordinals.append(Int32(file.ordinal))
                    }
                }
                planned = ordinals
            }
        }

        let assignment = Planner.assign(
            sizes: planned.map { $0.map { files.sizes[Int($0)] } } ?? files.sizes,
            sharding: fanout.options.sharding.resolved(
                files: planned?.count ?? files.count, backend: fanout.options.backend.capabilities))
        let shardCount = assignment.fileCounts.count
        var spec = RunSpec(
            format: RunSpec.currentFormat, runID: runID, step: step.name, stepVersion: step.version,
            stepParameters: step.parameters, input: inputLocation.description,
            filter: input.filter, inputHash: inputHash, shardCount: shardCount, fileCount: files.count,
            byteCount: files.byteCount, carriedCount: carried.count,
            backend: fanout.options.backend.name, createdAt: Date(),
            batching: [
                fanout.options.batching.maxRecords, fanout.options.batching.maxBytes,
                Int(fanout.options.batching.maxDelay.inSeconds * 1000),
            ],
            placement: fanout.options.backend.placement)
        // The spec goes last: a run exists once every file it counts is planned or carried over.
        spec.planParts = try await storePlan(files, planned: planned, assignment: assignment, state: state)
        spec.settings = fanout.options.recordedSettings
        for (index, start) in stride(from: 0, to: carried.count, by: 1000).enumerated() {
            let batch = Array(carried[start..<min(start + 1000, carried.count)])
            try await state.writeSegment(batch, to: state.layout.carried(sequence: index + 1))
        }
        let specBytes = try StateCoding.encode(spec)
        try await state.store.put(
            key: state.layout.spec, data: specBytes, options: PutOptions(contentType: "application/json"))
        var prepared = PreparedRun(
            step: step, spec: spec, digest: RunDigest.of(specBytes), state: state, lease: lease, stateLocation: stateLocationText, input: inputStore,
            inputLocation: inputLocation, pendingShards: Array(0..<shardCount),
            shardFileCounts: Dictionary(uniqueKeysWithValues: assignment.fileCounts.enumerated().map { ($0, $1) }))
        prepared.build = build
        return prepared
    }

    func reattach(
        runID: String, state stateText: String, replayOnly: Bool = false, expectedDigest: String? = nil
    ) async throws -> PreparedRun {
        let stateLocation = try StorageLocation.parse(stateText)
        let state = RunStateStore(
            store: try stateLocation.store(in: fanout.stores),
            layout: RunStateLayout(root: stateLocation.prefix, runID: runID))
        let (spec, digest) = try await state.readSpec(expectedDigest: expectedDigest)
        guard spec.step == step.name else {
            throw RunError(
                code: .invalidInput,
                message: "run \(runID) ran step '\(spec.step)', not '\(step.name)': attach with the same step")
        }
        guard replayOnly || spec.stepVersion == step.version else {
            throw RunError(
                code: .invalidInput,
                message: "run \(runID) ran version \(spec.stepVersion) of step '\(spec.step)', not \(step.version): "
                    + "attach with the same step and version (for `fanout run`, the same command)")
        }
        let inputLocation = try StorageLocation.parse(spec.input)
        let committed = try await state.committedShards()
        let pending = replayOnly ? [] : (0..<spec.shardCount).filter { !committed.contains($0) }
        let plans = ShardPlanReader(state: state, spec: spec)
        var counts: [Int: Int] = [:]
        for shard in pending { counts[shard] = try await plans.fileCount(shard) }
        var lease: RunLeaseKeeper?
        if !replayOnly {
            lease = RunLeaseKeeper(state: state, settings: fanout.options.lease)
            try await lease?.acquire(takeOver: fanout.options.lease.takeOver)
        }
        var prepared = PreparedRun(
            step: step, spec: spec, digest: digest, state: state, lease: lease, stateLocation: stateText,
            input: try inputLocation.store(in: fanout.stores),
            inputLocation: inputLocation, pendingShards: pending, shardFileCounts: counts)
        prepared.build = build
        return prepared
    }

    /// Claims a new run id by creating its lease, the run's first object, only if absent: two drivers can never
    /// share a run. A taken id is replaced by another.
    private func createRun(in store: any ObjectStore, root: String) async throws -> (RunStateStore, RunLeaseKeeper) {
        var lastError: (any Error)?
        for _ in 0..<5 {
            let state = RunStateStore(store: store, layout: RunStateLayout(root: root, runID: newRunID()))
            let lease = RunLeaseKeeper(state: state, settings: fanout.options.lease)
            do {
                try await lease.create()
                return (state, lease)
            } catch let error as ObjectStoreError where error.code == .preconditionFailed {
                lastError = error
            }
        }
        throw RunError(
            code: .invalidInput, message: "five new run ids in a row were already taken in \(store.description)",
            underlying: lastError)
    }

    /// The input's files in key order, filtered; a file's position is its ordinal.
    /// - Throws: ``RunError`` with code ``RunError/Code/notFound`` for a local folder that is not there, and for
    ///   an input with no files unless `allowEmpty`.
    static func listFiles(
        input: Input, location: StorageLocation, store: any ObjectStore, excludingPrefix: String,
        allowEmpty: Bool = true
    ) async throws -> ListedFiles {
        let files = try ListedFiles()
        if let keys = input.keys {
            for key in keys.sorted() {
                let info = try await store.head(key: key)
                try files.append(
                    key: info.key, size: info.size, etag: info.etag, modified: info.lastModified.timeIntervalSince1970)
            }
            return files
        }
        try checkLocalInputExists(location)
        var listed = 0
        for try await object in store.list(prefix: location.prefix) {
            if !excludingPrefix.isEmpty && object.key.hasPrefix(excludingPrefix) { continue }
            if object.key.hasSuffix("/") { continue }
            listed += 1
            let relative = String(object.key.dropFirst(location.prefix.count))
            guard input.filter.accepts(object, relativeKey: relative) else { continue }
            try files.append(
                key: object.key, size: object.size, etag: object.etag,
                modified: object.lastModified.timeIntervalSince1970)
        }
        if files.count == 0 && !allowEmpty { throw emptyInput(location, listed: listed) }
        return files
    }

    /// A local input whose folder is not there is a mistake, never an empty run.
    static func checkLocalInputExists(_ location: StorageLocation) throws {
        guard case .local(let root) = location.kind else { return }
        var isFolder: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: root.path, isDirectory: &isFolder)
        guard !exists || !isFolder.boolValue else { return }
        throw RunError(
            code: .notFound,
            message: exists
                ? "\(root.path) is a file, not a folder: give the folder that holds the files"
                : "no such file or folder: \(root.appendingPathComponent(location.prefix).path); check the path")
    }

    static func emptyInput(_ location: StorageLocation, listed: Int) -> RunError {
        let message: String
        if listed > 0 {
            message = "none of the \(listed) file\(listed == 1 ? "" : "s") under \(location) passed the filters: "
                + "check --include, --exclude, --min-size, --max-size and --modified-since"
        } else if case .local(let root) = location.kind {
            message = location.prefix.isEmpty
                ? "no files in \(root.path): the folder is empty"
                : "no such file or folder: \(root.appendingPathComponent(location.prefix).path); check the path"
        } else {
            message = "nothing found under \(location): check the bucket and prefix (fanout ls \(location))"
        }
        return RunError(code: .notFound, message: message + "; to accept an empty input, pass --allow-empty")
    }

    /// Stores the plan in parts of ``PlanPart/shardsPerPart`` shards, one at a time, each written to an unnamed
    /// temporary file first; each part's record, by part index.
    private func storePlan(
        _ files: ListedFiles, planned: [Int32]?, assignment: ShardAssignment, state: RunStateStore
    ) async throws -> [PlanPartRecord] {
        var shardOf = assignment.shardOf
        if let planned {
            shardOf = [Int32](repeating: -1, count: files.count)
            for (position, ordinal) in planned.enumerated() { shardOf[Int(ordinal)] = assignment.shardOf[position] }
        }
        var records: [PlanPartRecord] = []
        for part in 0..<PlanPart.count(shards: assignment.fileCounts.count) {
            let (output, path) = try ListedFiles.temporaryFile()
            defer { try? FileManager.default.removeItem(atPath: path) }
            records.append(try PlanPart.write(
                part: part, listed: files, shardOf: shardOf, fileCounts: assignment.fileCounts, to: output))
            try output.close()
            try await state.store.put(
                key: state.layout.planPart(part), file: URL(fileURLWithPath: path),
                options: PutOptions(contentType: "application/x-ndjson"))
        }
        return records
    }

    /// Successful records of the newest complete run of this step version over the same input, by key.
    private func cachedRecords(
        state: RunStateStore, inputHash: String
    ) async throws -> [String: (etag: String, record: RecordLine)] {
        let indexKey = state.layout.cacheIndex(
            step: step.name, version: step.cacheVersion(build: build), inputHash: inputHash)
        guard let entry = try? await state.read(CacheIndexEntry.self, from: indexKey) else { return [:] }
        let previous = RunStateStore(store: state.store, layout: RunStateLayout(root: state.layout.root, runID: entry.runID))
        var records: [String: (etag: String, record: RecordLine)] = [:]
        let decoder = JSONDecoder()
        for key in try await previous.segmentKeys() {
            for record in try await previous.readSegment(key) {
                guard let header = try? decoder.decode(RecordHeader.self, from: Data(record.bytes)), header.x == nil
                else { continue }
                records[header.k] = (header.e, record)
            }
        }
        return records
    }

    static func inputHash(_ input: Input, location: StorageLocation) -> String {
        var text = location.description + "\n"
        if let data = try? StateCoding.encode(input.filter) { text += String(decoding: data, as: UTF8.self) }
        if let keys = input.keys { text += "\n" + keys.sorted().joined(separator: "\n") }
        return SHA256.hash(data: Data(text.utf8)).prefix(12).map { String(format: "%02x", $0) }.joined()
    }

    /// Where the state lies among the input's keys, so that listing the input skips it: the state's own prefix in
    /// the same bucket, its path below a local input folder, else `.fanout/` (where earlier versions kept the state,
    /// at the root of the input: such a leftover folder is never input either).
    static func stateKeyPrefix(in input: StorageLocation, state: StorageLocation) -> String {
        switch (input.kind, state.kind) {
        case (.bucket(let inputScheme, let inputBucket), .bucket(let stateScheme, let stateBucket))
        where inputScheme == stateScheme && inputBucket == stateBucket:
            return state.prefix
        case (.local(let inputRoot), .local(let stateRoot)):
            let inputPath = inputRoot.standardizedFileURL.path
            let base = inputPath.hasSuffix("/") ? inputPath : inputPath + "/"
            let stateFolder = stateRoot.standardizedFileURL.path
            let statePath = (stateFolder.hasSuffix("/") ? stateFolder : stateFolder + "/") + state.prefix
            guard statePath.hasPrefix(base), statePath.count > base.count else { return ".fanout/" }
            let relative = String(statePath.dropFirst(base.count))
            return relative.hasSuffix("/") ? relative : relative + "/"
        default:
            return ".fanout/"
        }
    }
}
