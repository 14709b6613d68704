public import Foundation

/// What a worker process is told to do, through its environment.
///
/// | variable | meaning |
/// | --- | --- |
/// | `FANOUT_WORKER_RUN` | the run id |
/// | `FANOUT_WORKER_STATE` | the state prefix, as a location |
/// | `FANOUT_WORKER_STEP` | the step's name |
/// | `FANOUT_WORKER_SHARD` | the shard index; on Kubernetes Indexed Jobs `JOB_COMPLETION_INDEX` is used when absent |
/// | `FANOUT_WORKER_SHARDS` | with `JOB_COMPLETION_INDEX`: the shards of an Indexed Job (``ShardList``), one per index |
/// | `FANOUT_WORKER_SHARD_OFFSET` | added to `JOB_COMPLETION_INDEX` when there is no list (Jobs of earlier releases) |
/// | `FANOUT_WORKER_ATTEMPT` | the attempt number (default 1) |
/// | `FANOUT_WORKER_CONCURRENCY` | files in flight (default 4) |
/// | `FANOUT_WORKER_RUN_DIGEST` | the ``RunDigest`` the stored spec must hash to |
/// | `FANOUT_WORKER_ISOLATE` | `1`: files one at a time after a crash (``CrashIsolation``) |
/// | `FANOUT_WORKER_CRASH` | what the last isolated attempt died of: its first file without a result is failed with it |
public struct WorkerAssignment: Sendable, Hashable {
    public var runID: String
    public var stateLocation: String
    public var stepName: String
    public var shard: Int
    public var attempt: Int
    public var concurrency: Int = 4
    /// The SHA-256 of the run's stored spec (``RunDigest``); a worker refuses a spec that hashes otherwise.
    public var runDigest: String?
    /// Files one at a time after a crash, and what the last isolated attempt died of (``CrashIsolation``).
    public var isolation: CrashIsolation?

    public init(runID: String, stateLocation: String, stepName: String, shard: Int, attempt: Int) {
        self.runID = runID
        self.stateLocation = stateLocation
        self.stepName = stepName
        self.shard = shard
        self.attempt = attempt
    }

    public var environment: [String: String] {
        var variables = [
            "FANOUT_WORKER_RUN": runID,
            "FANOUT_WORKER_STATE": stateLocation,
            "FANOUT_WORKER_STEP": stepName,
            "FANOUT_WORKER_SHARD": String(shard),
            "FANOUT_WORKER_ATTEMPT": String(attempt),
            "FANOUT_WORKER_CONCURRENCY": String(concurrency),
        ]
        variables["FANOUT_WORKER_RUN_DIGEST"] = runDigest
        if let isolation {
            variables["FANOUT_WORKER_ISOLATE"] = "1"
            variables["FANOUT_WORKER_CRASH"] = isolation.crashMessage
        }
        return variables
    }

    /// The assignment of this process, if it was started as a worker.
    /// - Throws: ``RunError`` when the variables are present but incomplete.
    public static func current(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> WorkerAssignment? {
        guard let runID = environment["FANOUT_WORKER_RUN"] else { return nil }
        guard let state = environment["FANOUT_WORKER_STATE"], let step = environment["FANOUT_WORKER_STEP"] else {
            throw RunError(
                code: .worker, message: "FANOUT_WORKER_RUN is set but FANOUT_WORKER_STATE or FANOUT_WORKER_STEP is not")
        }
        let shard = environment["FANOUT_WORKER_SHARD"].flatMap { Int($0) }
            ?? environment["JOB_COMPLETION_INDEX"].flatMap { Int($0) }.flatMap { index in
                if let list = environment["FANOUT_WORKER_SHARDS"] { return ShardList(parsing: list)?[index] }
                return index + (Int(environment["FANOUT_WORKER_SHARD_OFFSET"] ?? "0") ?? 0)
            }
        guard let shard else {
            throw RunError(code: .worker, message: "a worker needs FANOUT_WORKER_SHARD or JOB_COMPLETION_INDEX")
        }
        var assignment = WorkerAssignment(
            runID: runID, stateLocation: state, stepName: step, shard: shard,
            attempt: Int(environment["FANOUT_WORKER_ATTEMPT"] ?? "1") ?? 1)
        assignment.concurrency = Int(environment["FANOUT_WORKER_CONCURRENCY"] ?? "4") ?? 4
        assignment.runDigest = environment["FANOUT_WORKER_RUN_DIGEST"]
        if environment["FANOUT_WORKER_ISOLATE"] == "1" {
            assignment.isolation = CrashIsolation(crashMessage: environment["FANOUT_WORKER_CRASH"])
        }
        return assignment
    }
}
