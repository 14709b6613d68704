import ArgumentParser
import Fanout

/// `--kubeconfig`, `--context` and `--namespace` for commands that read or change a run's Jobs and pods on the cluster.
struct ClusterOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Kubernetes: the kubeconfig file, as kubectl's --kubeconfig (default: KUBECONFIG, else "
        + "~/.kube/config).", valueName: "file"))
    var kubeconfig: String?
    @Option(help: ArgumentHelp("Kubernetes: the kubeconfig context (default: FANOUT_CONTEXT, else the current one).",
        valueName: "name"))
    var context: String?
    @Option(help: ArgumentHelp("Kubernetes: the namespace of the run's Jobs and pods (default: FANOUT_NAMESPACE, "
        + "else the context's).", valueName: "name"))
    var namespace: String?

    /// A client for the chosen context and namespace: the flags, else where the run ran (`placement`, as stored
    /// with it), else `environment`, else the kubeconfig's current context.
    func client(environment: [String: String], placement: [String: String]? = nil) throws -> KubernetesClient {
        try KubernetesClient(
            configuration: .resolve(
                kubeconfig: kubeconfig.map { [$0] },
                context: context ?? placement?["context"] ?? environment["FANOUT_CONTEXT"],
                namespace: namespace ?? placement?["namespace"] ?? environment["FANOUT_NAMESPACE"],
                environment: environment))
    }

    /// A client for each cluster the run ran on: one for a run on one cluster (``client(environment:placement:)``),
    /// one per cluster of a fleet run (its placement's `NAME.context`, `NAME.namespace` and `NAME.kubeconfig`),
    /// with the cluster's name. The flags, when given, override each.
    func clients(
        environment: [String: String], placement: [String: String]?
    ) throws -> [(cluster: String?, client: KubernetesClient)] {
        let clusters = Set((placement ?? [:]).keys.compactMap { key in
            key.contains(".") ? String(key[..<key.lastIndex(of: ".")!]) : nil
        })
        guard !clusters.isEmpty, let placement else {
            return [(nil, try client(environment: environment, placement: placement))]
        }
        return try clusters.sorted().map { cluster in
            let files = kubeconfig.map { [$0] }
                ?? placement["\(cluster).kubeconfig"].map { $0.split(separator: ":").map(String.init) }
            let client = try KubernetesClient(
                configuration: .resolve(
                    kubeconfig: files, context: context ?? placement["\(cluster).context"],
                    namespace: namespace ?? placement["\(cluster).namespace"], environment: environment))
            return (cluster, client)
        }
    }
}
