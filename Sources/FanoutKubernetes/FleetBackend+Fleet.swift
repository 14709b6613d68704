import FanoutCore

extension FleetBackend {
    /// The deadline of a fleet run's Jobs when the options set none: a day. A cluster the run drops may keep its
    /// Jobs until a command reaches it again; the deadline ends them even if none does.
    public static let defaultJobDeadlineSeconds = 86_400

    /// The clusters of `fleet` that can serve a run needing `requirements`, each a member with the options `base`
    /// gives every cluster (image, secrets, resources...) and its own: context, kubeconfig, namespace, the node
    /// selection that keeps pods on matching machines, its tolerations and labels, its capacity and weight.
    /// Requirements on accelerators become the pods' `nvidia.com/gpu` limit, on CPU and memory their requests.
    /// Jobs get ``defaultJobDeadlineSeconds`` unless `base` sets a deadline.
    /// - Throws: ``FleetError`` when no cluster matches, naming the nearest offers, before anything is created.
    public init(fleet: Fleet, requirements: FleetRequirements, options base: KubernetesBackend.Options) throws {
        let placements = try fleet.placements(for: requirements).filter { $0.cluster.capacity > 0 }
        guard !placements.isEmpty else {
            throw FleetError(
                code: .noMatch, message: "every cluster that matches the run has capacity 0",
                hint: "Give one of them a capacity above 0 in the fleet.")
        }
        self.init(members: placements.map { placement in
            var options = base
            let cluster = placement.cluster
            options.context = cluster.context ?? base.context
            options.kubeconfig = cluster.kubeconfig ?? base.kubeconfig
            options.namespace = cluster.namespace ?? base.namespace
            options.activeDeadlineSeconds = base.activeDeadlineSeconds ?? Self.defaultJobDeadlineSeconds
            var scheduling = placement.scheduling
            scheduling.nodeSelector.merge(base.scheduling.nodeSelector) { fleet, _ in fleet }
            scheduling.tolerations += base.scheduling.tolerations
            scheduling.priorityClassName = base.scheduling.priorityClassName
            if scheduling.affinity == nil { scheduling.affinity = base.scheduling.affinity }
            options.scheduling = scheduling
            options.labels.merge(cluster.labels) { _, cluster in cluster }
            options.labels["fanout.dev/cluster"] = KubernetesLabels.value(cluster.name)
            if requirements.accelerator != nil, options.resources.gpus == nil {
                options.resources.gpus = max(1, requirements.acceleratorCount)
            }
            if let cpu = requirements.cpu, options.resources.cpu == nil { options.resources.cpu = String(cpu) }
            if let memory = requirements.memory, options.resources.memory == nil { options.resources.memory = memory }
            return Member(
                name: cluster.name, backend: KubernetesBackend(options: options), capacity: cluster.capacity,
                weight: cluster.weight)
        })
    }
}
