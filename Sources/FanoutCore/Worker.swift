import Foundation
import FanoutStorage

/// The worker side of a process: when this process was started to run a shard, run it and exit with a status of
/// ``WorkerExit``.
enum Worker {
    /// Runs the assigned shard and exits if this process is a worker for one of `steps`; returns otherwise.
    static func runIfAssigned(steps: [AnyMapStep], s3: S3Client?) async {
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
        do {
            try await run(step: step, assignment: assignment, s3: s3 ?? S3Client(configuration: .fromEnvironment()))
            exit(WorkerExit.succeeded)
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

    static func run(step: AnyMapStep, assignment: WorkerAssignment, s3: S3Client) async throws {
        let stateLocation = try StorageLocation.parse(assignment.stateLocation)
        let state = RunStateStore(
            store: stateLocation.store(s3: s3),
            layout: RunStateLayout(root: stateLocation.prefix, runID: assignment.runID))
        let spec = try await state.readSpec()
        guard spec.stepVersion == step.version else {
            throw RunError(
                code: .worker,
                message: "the run was planned with step version \(spec.stepVersion) but this executable has "
                    + "\(step.version): ship the same build to the workers")
        }
        let inputLocation = try StorageLocation.parse(spec.input)
        let shard = try await state.readShard(assignment.shard)
        try await ShardExecutor(
            step: step, shard: shard, attempt: assignment.attempt, state: state,
            input: inputLocation.store(s3: s3), inputLocation: inputLocation, concurrency: assignment.concurrency,
            batching: spec.segmentBatching, onRecord: nil
        ).run()
    }

    private static func exitWorker(status: Int32, message: String) -> Never {
        FileHandle.standardError.write(Data("fanout worker: \(message)\n".utf8))
        exit(status)
    }
}
