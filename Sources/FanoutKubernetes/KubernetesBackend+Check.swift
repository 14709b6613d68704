import FanoutCore

extension KubernetesBackend {
    /// Finds a missing kubeconfig, an unknown context, a cluster that cannot be reached or a namespace that does not
    /// exist before a run stores anything, so none of these mistakes leaves an unfinished run behind.
    ///
    /// Resolves the configuration as ``serve(_:attempts:)`` does, then reads the namespace. A user whom RBAC does not
    /// allow to read namespaces (a `403`) is let through: the namespace may well exist, and the run finds out.
    /// - Throws: ``KubernetesError``: ``KubernetesError/Code/invalidConfiguration`` for the kubeconfig or context,
    ///   ``KubernetesError/Code/notFound`` naming the namespace and the context, or the API's error.
    public func check() async throws {
        let client = try client ?? KubernetesClient(kubeconfig: options.kubeconfig, context: options.context, namespace: options.namespace)
        let namespace = options.namespace ?? client.namespace
        do {
            _ = try await client.get(Namespace.self, name: namespace)
        } catch let error as KubernetesError where error.code == .forbidden {
            return
        } catch let error as KubernetesError where error.code == .notFound {
            let context = client.configuration.contextName.map { "context '\($0)'" } ?? "the cluster"
            throw KubernetesError(
                code: .notFound, message: "the namespace '\(namespace)' does not exist in \(context)",
                operation: "check the namespace",
                hint: "Check --namespace (or FANOUT_NAMESPACE, or the context's namespace), or create it with "
                    + "`kubectl create namespace \(namespace)`.")
        }
    }
}
