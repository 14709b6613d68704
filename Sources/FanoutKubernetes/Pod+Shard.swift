extension KubernetesLabels {
    /// The label selector of every Job and pod of a run, whichever execution created them.
    public static func selector(runID: String) -> String { "\(run)=\(value(runID))" }

    /// The label selector of one execution's Jobs and pods.
    public static func selector(runID: String, token: String) -> String {
        selector(runID: runID) + ",\(submission)=\(token)"
    }
}

extension Pod {
    /// The shard a run's pod works on: its `fanout.dev/shard` label, or for an Indexed Job its completion index
    /// plus the Job's `fanout.dev/shard-offset`; `nil` for other pods.
    public var fanoutShard: Int? {
        let labels = metadata.labels ?? [:]
        if let shard = labels[KubernetesLabels.shard].flatMap(Int.init) { return shard }
        guard let offset = labels[KubernetesLabels.shardOffset].flatMap(Int.init) else { return nil }
        let index =
            (metadata.annotations?[KubernetesLabels.completionIndex] ?? labels[KubernetesLabels.completionIndex])
            .flatMap(Int.init)
        return index.map { offset + $0 }
    }
}
