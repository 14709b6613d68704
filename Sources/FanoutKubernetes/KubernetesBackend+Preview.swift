public import FanoutCore
import Foundation

extension KubernetesBackend {
    /// What stands in a preview for a value made only once the run is stored.
    static func placeholder(_ what: String) -> String { "<\(what), made when the run starts>" }

    /// The Jobs' plan for a run, as the real run makes it and as `--dry-run` shows it: the shards, their retries,
    /// the shards that may fail before the Jobs stop (`maxFailedIndexes`, from the run's tolerance), and the shipped
    /// executable's architecture. The executable's URL and digest are set by the caller once it is shipped.
    func jobPlan(
        runID: String, stateLocation: String, stepName: String, shardFileCounts: [Int: Int], retries: Int,
        tolerance: FailureTolerance, token: String = KubernetesJobPlan.newToken()
    ) throws -> KubernetesJobPlan {
        var plan = KubernetesJobPlan(
            runID: runID, stateLocation: stateLocation, stepName: stepName, shards: shardFileCounts.keys.sorted(),
            retries: retries,
            maxFailedShards: Self.maxFailedShards(
                explicit: options.maxFailedShards, tolerance: tolerance, files: shardFileCounts.values.reduce(0, +)),
            token: token)
        if options.shipExecutable {
            plan.executableArchitecture = try LinuxExecutable(path: options.executable).architecture
        }
        return plan
    }

    /// Shards that may fail for good before the Jobs stop: ``Options/maxFailedShards``, else as many as the
    /// tolerance allows files to fail (a failed shard fails at least one file).
    static func maxFailedShards(explicit: Int?, tolerance: FailureTolerance, files: Int) -> Int {
        if let explicit { return max(0, explicit) }
        switch tolerance {
        case .none: return 0
        case .count(let files): return files
        case .fraction(let fraction): return Int((fraction * Double(files)).rounded(.down))
        }
    }

    /// The Jobs a run would create, from the code that makes the real ones, after a summary of the plan as YAML
    /// comments (so the text still goes to `kubectl apply --dry-run=server -f -`). The run id, the executable's
    /// URL and its digest are placeholders.
    /// - Throws: ``KubernetesError`` for a local input or state prefix, as the real run would.
    public func preview(_ submission: SubmissionPreview) throws -> String? {
        try checkReachable(input: submission.inputLocation, state: submission.stateLocation)
        var plan = try jobPlan(
            runID: "dry-run", stateLocation: submission.stateLocation, stepName: submission.stepName,
            shardFileCounts: submission.shardFileCounts, retries: submission.retries, tolerance: submission.tolerance,
            token: "dryrn")
        plan.runDigest = Self.placeholder("the SHA-256 of the stored spec")
        if options.shipExecutable {
            plan.executableURL = Self.placeholder("a presigned URL of the shipped executable")
            plan.executableSHA256 = Self.placeholder("the SHA-256 of the shipped executable")
        }
        let namespace = placement["namespace"] ?? "default"
        let files = submission.shardFileCounts.values.reduce(0, +)
        let summary = [
            "# what this fanout run would create on Kubernetes (nothing was created)",
            "# \(files) file\(files == 1 ? "" : "s") in \(plan.shards.count) shard\(plan.shards.count == 1 ? "" : "s"), "
                + "namespace \(namespace), state \(submission.stateLocation)",
            "# retries per shard: \(plan.retries); shards that may fail before the Jobs stop: "
                + "\(plan.maxFailedShards.map(String.init) ?? "any")",
            "# values in <...> are made when the run starts",
        ]
        return summary.joined(separator: "\n") + "\n" + (try manifestYAML(for: plan, namespace: namespace))
    }
}
