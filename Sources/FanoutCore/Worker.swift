import Foundation
import FanoutStorage

/// The worker side of a process: when this process was started to run a shard, run it and exit with a status of
/// ``WorkerExit``.
enum Worker {
    /// Runs the assigned shard and exits if this process is a worker for one of `steps`; returns otherwise.
    static func runIfAssigned(steps: [AnyMapStep], stores: ObjectStores?) async {
        let assignment: WorkerAssignment
        do {
            guard let current = try WorkerAssignment.current() else { return }
            assignment = current
        } catch {
            exitWorker(status: WorkerExit.misconfigured, message: "\(error)")
        }
        guard let step = steps.first(where: { $0.name == assignment.stepName }) else {
            let names = steps.map { "'\($0.name)'" }.joined(separator: ", ")
            exitWorker(
                status: WorkerExit.misconfigured,
                message: "this worker runs step '\(assignment.stepName)' but reached \(names) first. Call "
                    + "Fanout.bootstrap(stepA, stepB, ...) with every step at the start of the program.")
        }
        let stores = stores ?? ObjectStores()
        let shard = Task { try await run(step: step, assignment: assignment, stores: stores) }
        let stopSignals = stopOnSignals(shard)
        defer { _ = stopSignals }
        do {
            try await shard.value
            exit(WorkerExit.succeeded)
        } catch where shard.isCancelled {
            exitWorker(
                status: WorkerExit.stopped,
                message: "shard \(assignment.shard) of run \(assignment.runID) stopped; its finished files are stored")
        } catch let error as RunError where error.code == .worker {
            exitWorker(
                status: WorkerExit.misconfigured,
                message: "shard \(assignment.shard) of run \(assignment.runID) cannot run: \(error)")
        } catch {
            exitWorker(
                status: WorkerExit.failed,
                message: "shard \(assignment.shard) of run \(assignment.runID) failed: \(error)")
        }
    }

    static func run(step: AnyMapStep, assignment: WorkerAssignment, stores: ObjectStores) async throws {
        let stateLocation = try StorageLocation.parse(assignment.stateLocation)
        let state = RunStateStore(
            store: try stateLocation.store(in: stores),
            layout: RunStateLayout(root: stateLocation.prefix, runID: assignment.runID))
        guard let digest = assignment.runDigest else {
            throw RunError(
                code: .worker,
                message: "a worker needs FANOUT_WORKER_RUN_DIGEST, the digest of the run's spec: start workers "
                    + "through a driver of the same version")
        }
        let spec: RunSpec
        do {
            spec = try await state.readSpec(expectedDigest: digest).spec
        } catch let error as RunError where error.code == .tamperedState {
            throw RunError(code: .worker, message: error.message)
        }
        guard spec.stepVersion == step.version else {
            throw RunError(
                code: .worker,
                message: "the run was planned with step version \(spec.stepVersion) but this executable has "
                    + "\(step.version): ship the same build to the workers")
        }
        let inputLocation = try StorageLocation.parse(spec.input)
        let shard: Shard
        do {
            shard = try await ShardPlanReader(state: state, spec: spec).shard(assignment.shard)
        } catch let error as RunError where error.code == .tamperedState {
            throw RunError(code: .worker, message: error.message)
        }
        try await ShardExecutor(
            step: step, shard: shard, attempt: assignment.attempt, state: state,
            input: try inputLocation.store(in: stores), inputLocation: inputLocation,
            concurrency: assignment.concurrency,
            batching: spec.segmentBatching, onRecord: nil, isolation: assignment.isolation
        ).run()
    }

    /// How long a stopped worker waits for its shard to wind down (its programs to stop, its results to be
    /// stored) before it exits anyway.
    static let stopGracePeriod: DispatchTimeInterval = .seconds(10)

    /// Turns SIGTERM and SIGINT into cancelling `shard`, which stops the programs it runs; exits after the grace
    /// period if the shard has not ended by then. Keep the returned sources while the shard runs.
    private static func stopOnSignals(_ shard: Task<Void, any Error>) -> [any DispatchSourceSignal] {
        [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                shard.cancel()
                DispatchQueue.global().asyncAfter(deadline: .now() + stopGracePeriod) { exit(WorkerExit.stopped) }
            }
            source.resume()
            return source
        }
    }

    private static func exitWorker(status: Int32, message: String) -> Never {
        FileHandle.standardError.write(Data("fanout worker: \(message)\n".utf8))
        exit(status)
    }
}
