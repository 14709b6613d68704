public import FanoutCore
import Foundation

extension KubernetesBackend {
    /// What stands in a preview for a value made only once the run is stored.
    static func placeholder(_ what: String) -> String { "<\(what), made when the run starts>" }

    /// The plan of a launch's Jobs, as the real run makes it and as `--dry-run` shows it for the first: the shards
    /// and the shipped executable's architecture. The executable's URL and digest are set by the caller once it is
    /// shipped.
    func jobPlan(
        runID: String, stateLocation: String, stepName: String, shards: [Int],
        token: String = KubernetesJobPlan.newToken()
    ) throws -> KubernetesJobPlan {
        var plan = KubernetesJobPlan(
            runID: runID, stateLocation: stateLocation, stepName: stepName, shards: shards.sorted(), token: token)
        if options.shipExecutable {
            plan.executableArchitecture = try LinuxExecutable(path: options.executable).architecture
        }
        return plan
    }

    /// The Jobs a run would create, from the code that makes the real ones, after a summary of the plan as YAML
    /// comments (so the text still goes to `kubectl apply --dry-run=server -f -`). The run id, the executable's
    /// URL and its digest are placeholders.
    /// - Throws: ``KubernetesError`` for a local input or state prefix, as the real run would.
    public func preview(_ submission: SubmissionPreview) throws -> String? {
        try checkReachable(input: submission.inputLocation, state: submission.stateLocation)
        var plan = try jobPlan(
            runID: "dry-run", stateLocation: submission.stateLocation, stepName: submission.stepName,
            shards: Array(submission.shardFileCounts.keys), token: "dryrn")
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
            "# the first attempt of every shard; a failed pod ends its attempt, and the shard runs again in a new Job, "
                + "up to \(submission.retries) retr\(submission.retries == 1 ? "y" : "ies") (disruptions and OOM kills "
                + "use none)",
            "# values in <...> are made when the run starts",
        ]
        return summary.joined(separator: "\n") + "\n" + (try manifestYAML(for: plan, namespace: namespace))
    }
}
