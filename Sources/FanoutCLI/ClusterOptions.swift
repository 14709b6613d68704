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
}
