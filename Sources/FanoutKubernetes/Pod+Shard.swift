import FanoutCore

extension KubernetesLabels {
    /// The label selector of every Job and pod of a run, whichever execution created them.
    public static func selector(runID: String) -> String { "\(run)=\(value(runID))" }

    /// The label selector of one execution's Jobs and pods.
    public static func selector(runID: String, token: String) -> String {
        selector(runID: runID) + ",\(submission)=\(token)"
    }
}

extension Pod {
    /// The shard a run's pod works on: its `fanout.dev/shard` label, or for an Indexed Job the shard at its
    /// completion index in the Job's `fanout.dev/shards` list (or, for Jobs of earlier releases, the index plus
    /// `fanout.dev/shard-offset`); `nil` for other pods.
    public var fanoutShard: Int? {
        let labels = metadata.labels ?? [:]
        if let shard = labels[KubernetesLabels.shard].flatMap(Int.init) { return shard }
        let index =
            (metadata.annotations?[KubernetesLabels.completionIndex] ?? labels[KubernetesLabels.completionIndex])
            .flatMap(Int.init)
        guard let index else { return nil }
        if let list = metadata.annotations?[KubernetesLabels.shards].flatMap(ShardList.init(parsing:)) {
            return list[index]
        }
        return labels[KubernetesLabels.shardOffset].flatMap(Int.init).map { $0 + index }
    }

    /// The name of the Job that made the pod, from the label the Job controller sets.
    var jobName: String? {
        metadata.labels?["batch.kubernetes.io/job-name"] ?? metadata.labels?["job-name"]
    }
}
