public import Foundation
public import FanoutStorage
import Crypto

/// The entry point: map a step over files, then fold the results in this process.
///
/// ```swift
/// let wordCount = MapStep("word-count") { file in
///     try await file.text().split(whereSeparator: \.isWhitespace).count
/// }
/// let run = try await Fanout().map(wordCount, over: "s3://my-bucket/books/")
/// let total = try await run.values().reduce(0, +)
/// ```
///
/// The same executable is its own worker: when the process backend or a pod starts it as one, the first
/// ``map(_:over:)`` for the assigned step (or ``bootstrap(_:)``) runs just that shard and exits, before any
/// listing, planning or aggregation. Programs with several steps call ``bootstrap(_:)`` first thing.
public struct Fanout: Sendable {
    public var options: RunOptions
    /// The clients of remote stores (`s3://`, `gs://`). Default: each configured from the environment, as its own
    /// command-line tools are.
    public var stores: ObjectStores
    let environment: [String: String]

    /// - Parameters:
    ///   - stores: The clients of remote stores. Default: ``ObjectStores/init(environment:)`` with `environment`.
    ///   - s3: The client for `s3://` locations, in place of the one `stores` has. Default `nil`.
    public init(
        options: RunOptions = RunOptions(),
        stores: ObjectStores? = nil,
        s3: S3Client? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.options = options
        let stores = stores ?? ObjectStores(environment: environment)
        self.stores = s3.map { stores.with($0) } ?? stores
        self.environment = environment
    }

    /// In a worker process, runs the assigned shard of whichever of `steps` it names, then exits; elsewhere
    /// returns at once. Call it at the top of programs with more than one step.
    public static func bootstrap<each Output>(_ steps: repeat MapStep<each Output>) async {
        var erased: [AnyMapStep] = []
        for step in repeat each steps { erased.append(AnyMapStep(step)) }
        await Worker.runIfAssigned(steps: erased, stores: nil)
    }

    /// Maps `step` over every file of `input` and returns the run, whose results arrive as they are made.
    ///
    /// Listing, filtering, cache look-up, planning and storing the plan happen before this returns; the shards
    /// start when the results are first iterated.
    /// - Throws: ``RunError`` or ``ObjectStoreError`` when the input or state cannot be used (with code
    ///   ``RunError/Code/invalidInput`` when the backend's workers run elsewhere and no state prefix is set); the
    ///   backend's error when ``Backend/check()`` finds it cannot run. Either way nothing is stored.
    public func map<Output>(_ step: MapStep<Output>, over input: Input) async throws -> MapRun<Output> {
        await Worker.runIfAssigned(steps: [AnyMapStep(step)], stores: stores)
        try checkStateReachable()
        try await options.backend.check()
        let prepared = try await RunPreparation(fanout: self, step: AnyMapStep(step)).prepare(input)
        return MapRun(prepared: prepared, options: options)
    }

    /// Re-attaches to a run by id: results already stored are replayed, and shards that never committed run
    /// again on this instance's backend.
    ///
    /// The stored run must be of `step` at its current version. With `digest` (``MapRun/digest`` of the run as it
    /// started), the stored spec must also be exactly the one the run started with.
    /// - Throws: ``RunError`` with code ``RunError/Code/tamperedState`` when the spec does not match `digest`.
    public func attach<Output>(
        _ step: MapStep<Output>, runID: String, state: String, digest: String? = nil
    ) async throws -> MapRun<Output> {
        await Worker.runIfAssigned(steps: [AnyMapStep(step)], stores: stores)
        let prepared = try await RunPreparation(fanout: self, step: AnyMapStep(step)).reattach(
            runID: runID, state: state, expectedDigest: digest)
        return MapRun(prepared: prepared, options: options)
    }

    /// The results a run has stored so far, replayed without running anything.
    public func results<Output>(of step: MapStep<Output>, runID: String, state: String) async throws -> MapRun<Output> {
        var options = self.options
        options.cache = false
        let prepared = try await RunPreparation(fanout: self, step: AnyMapStep(step)).reattach(
            runID: runID, state: state, replayOnly: true)
        return MapRun(prepared: prepared, options: options, replayOnly: true)
    }

    /// The plan a run over `input` would have, without storing or running anything.
    public func plan(_ input: Input) async throws -> ShardPlan {
        let location = try StorageLocation.parse(input.location)
        let store = try location.store(in: stores)
        let state = try StorageLocation.parse(stateLocation(for: location))
        let files = try await RunPreparation.listFiles(
            input: input, location: location, store: store,
            excludingPrefix: RunPreparation.stateKeyPrefix(in: location, state: state),
            allowEmpty: options.allowEmptyInput)
        return Planner.plan(
            files: try files.all(),
            sharding: options.sharding.resolved(files: files.count, backend: options.backend.capabilities))
    }

    /// The plan of a run of `step` over `input` and what its backend would create for it (``Backend/preview(_:)``),
    /// without storing or starting anything: what `--dry-run` shows.
    /// - Throws: what ``map(_:over:)`` would refuse the run for before storing it, and the backend's refusals.
    public func preview<Output>(
        _ step: MapStep<Output>, over input: Input
    ) async throws -> (plan: ShardPlan, backend: String?) {
        let plan = try await self.plan(input)
        let preview = SubmissionPreview(
            stateLocation: try stateLocation(forInput: input.location), inputLocation: input.location,
            stepName: step.name,
            shardFileCounts: Dictionary(uniqueKeysWithValues: plan.shards.map { ($0.index, $0.files.count) }),
            retries: options.retries, tolerance: options.tolerance)
        return (plan, try options.backend.preview(preview))
    }

    /// The state prefix a run over `input` (a location as users type it) keeps its state under.
    public func stateLocation(forInput input: String) throws -> String {
        stateLocation(for: try StorageLocation.parse(input))
    }

    /// The state prefix of this instance's runs: the option, `FANOUT_STATE`, or the user's state folder on this
    /// machine (``defaultStateLocation(environment:)``), whatever the input. The input is never written to.
    func stateLocation(for input: StorageLocation) -> String {
        options.state ?? environment["FANOUT_STATE"] ?? Self.defaultStateLocation(environment: environment)
    }

    /// Where runs keep their state when no prefix is set: `$XDG_STATE_HOME/fanout/state/`, else
    /// `~/.local/state/fanout/state/` (the temporary folder stands in for a missing `HOME`).
    public static func defaultStateLocation(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String {
        if let folder = environment["XDG_STATE_HOME"], !folder.isEmpty { return folder + "/fanout/state/" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSTemporaryDirectory()
        return home + "/.local/state/fanout/state/"
    }

    /// Refuses, before anything is created, a run whose workers run on other machines (``Backend/needsSharedState``)
    /// and whose state would default to a folder on this one.
    func checkStateReachable() throws {
        guard options.backend.needsSharedState, options.state == nil, environment["FANOUT_STATE"] == nil else { return }
        throw RunError(
            code: .invalidInput,
            message: "the \(options.backend.name) backend's workers cannot reach a state folder on this machine, and "
                + "no state prefix is set: set RunOptions.state or FANOUT_STATE to a prefix they can reach, such as "
                + "s3://BUCKET/fanout-state/")
    }
}
