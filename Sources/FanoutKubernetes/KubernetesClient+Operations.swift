import FanoutHTTP
import Foundation

extension KubernetesClient {
    /// Creates an object and returns it as the server stored it.
    ///
    /// - Parameters:
    ///   - namespace: Default: the object's own, else the client's.
    ///   - dryRun: Validate and default without storing (`dryRun=All`).
    ///   - strict: Unknown fields are an error (`fieldValidation=Strict`). Default `true`.
    /// - Throws: ``KubernetesError``: ``KubernetesError/Code/alreadyExists`` for a taken name,
    ///   ``KubernetesError/Code/invalid`` with causes for a rejected object.
    public func create<T: KubernetesObject>(
        _ object: T, namespace: String? = nil, dryRun: Bool = false, strict: Bool = true
    ) async throws -> T {
        let resource = T.resource
        var query: [(String, String)] = []
        if dryRun { query.append(("dryRun", "All")) }
        if strict { query.append(("fieldValidation", "Strict")) }
        let body = try JSONEncoder().encode(object)
        let data = try await send(
            Request(
                method: .post,
                path: resource.path(namespace: namespace ?? object.metadata.namespace ?? self.namespace),
                query: query, body: body, operation: "create \(resource.plural)", idempotent: false))
        return try decode(T.self, from: data, operation: "create \(resource.plural)")
    }

    /// Reads one object.
    /// - Throws: ``KubernetesError`` with code ``KubernetesError/Code/notFound`` when there is none.
    public func get<T: KubernetesObject>(_ type: T.Type, name: String, namespace: String? = nil) async throws -> T {
        let resource = T.resource
        let data = try await send(
            Request(
                method: .get, path: resource.path(namespace: namespace ?? self.namespace, name: name),
                operation: "get \(resource.plural)", idempotent: true))
        return try decode(T.self, from: data, operation: "get \(resource.plural)")
    }

    /// Reads one page of a list.
    ///
    /// - Parameters:
    ///   - labelSelector: `key=value,other in (a,b)`; default none.
    ///   - limit: Items per page; default: all at once.
    ///   - continueToken: The previous page's ``ListMeta/continueToken``.
    /// - Throws: ``KubernetesError``; ``KubernetesError/Code/expired`` when the continue token is too old.
    public func list<T: KubernetesObject>(
        _ type: T.Type, namespace: String? = nil, labelSelector: String? = nil, fieldSelector: String? = nil,
        limit: Int? = nil, continueToken: String? = nil
    ) async throws -> KubernetesList<T> {
        let resource = T.resource
        var query: [(String, String)] = []
        if let labelSelector, !labelSelector.isEmpty { query.append(("labelSelector", labelSelector)) }
        if let fieldSelector, !fieldSelector.isEmpty { query.append(("fieldSelector", fieldSelector)) }
        if let limit { query.append(("limit", String(limit))) }
        if let continueToken, !continueToken.isEmpty { query.append(("continue", continueToken)) }
        let data = try await send(
            Request(
                method: .get, path: resource.path(namespace: namespace ?? self.namespace), query: query,
                operation: "list \(resource.plural)", idempotent: true))
        return try decode(KubernetesList<T>.self, from: data, operation: "list \(resource.plural)")
    }

    /// Reads every page of a list and returns the items with the resourceVersion to watch from. A continue token
    /// that expires midway starts the listing over (up to three times).
    public func listAll<T: KubernetesObject>(
        _ type: T.Type, namespace: String? = nil, labelSelector: String? = nil, pageSize: Int = 500
    ) async throws -> KubernetesList<T> {
        var restarts = 0
        while true {
            var items: [T] = []
            var token: String?
            do {
                while true {
                    let page = try await list(
                        T.self, namespace: namespace, labelSelector: labelSelector, limit: pageSize,
                        continueToken: token)
                    items.append(contentsOf: page.items)
                    token = page.metadata.continueToken
                    if token?.isEmpty ?? true {
                        return KubernetesList(
                            metadata: ListMeta(resourceVersion: page.metadata.resourceVersion), items: items)
                    }
                }
            } catch let error as KubernetesError where error.code == .expired && token != nil && restarts < 3 {
                restarts += 1
            }
        }
    }

    /// Changes one object and returns it as the server stored it.
    ///
    /// ```swift
    /// try await client.patch(Job.self, name: "fanout-20261124", body: ["spec": ["parallelism": 2]])
    /// ```
    ///
    /// - Parameters:
    ///   - body: The patch, in the format of `type`.
    ///   - type: Default ``PatchType/merge``.
    ///   - namespace: Default: the client's.
    ///   - strict: Unknown fields are an error (`fieldValidation=Strict`). Default `true`.
    /// - Throws: ``KubernetesError``: ``KubernetesError/Code/notFound`` when there is no such object,
    ///   ``KubernetesError/Code/invalid`` with causes when the result fails validation (an immutable field),
    ///   ``KubernetesError/Code/badRequest`` for a malformed patch.
    @discardableResult
    public func patch<T: KubernetesObject>(
        _ type: T.Type, name: String, namespace: String? = nil, body: JSONValue, type patchType: PatchType = .merge,
        strict: Bool = true
    ) async throws -> T {
        let resource = T.resource
        let operation = "patch \(resource.plural)"
        var query: [(String, String)] = []
        if strict { query.append(("fieldValidation", "Strict")) }
        let data = try await send(
            Request(
                method: .patch, path: resource.path(namespace: namespace ?? self.namespace, name: name), query: query,
                body: try JSONEncoder().encode(body), contentType: patchType.rawValue, operation: operation,
                // A JSON patch may append to lists; merge patches set values and can be sent again.
                idempotent: patchType != .json))
        return try decode(T.self, from: data, operation: operation)
    }

    /// Deletes one object.
    ///
    /// - Parameter propagationPolicy: What happens to its dependents. Default ``PropagationPolicy/background``;
    ///   never leave Jobs' pods behind by accident.
    /// - Returns: `false` when the object did not exist.
    @discardableResult
    public func delete<T: KubernetesObject>(
        _ type: T.Type, name: String, namespace: String? = nil,
        propagationPolicy: PropagationPolicy = .background, gracePeriodSeconds: Int? = nil
    ) async throws -> Bool {
        let resource = T.resource
        do {
            _ = try await send(
                Request(
                    method: .delete, path: resource.path(namespace: namespace ?? self.namespace, name: name),
                    body: deleteOptions(propagationPolicy, gracePeriodSeconds: gracePeriodSeconds),
                    operation: "delete \(resource.plural)", idempotent: true))
            return true
        } catch let error as KubernetesError where error.code == .notFound {
            return false
        }
    }

    /// Deletes every object of a type matching a label selector, in one request.
    public func deleteCollection<T: KubernetesObject>(
        _ type: T.Type, namespace: String? = nil, labelSelector: String,
        propagationPolicy: PropagationPolicy = .background
    ) async throws {
        let resource = T.resource
        _ = try await send(
            Request(
                method: .delete, path: resource.path(namespace: namespace ?? self.namespace),
                query: [("labelSelector", labelSelector)],
                body: deleteOptions(propagationPolicy, gracePeriodSeconds: nil),
                operation: "deletecollection \(resource.plural)", idempotent: true))
    }

    /// The log of a pod's container.
    ///
    /// - Parameters:
    ///   - container: Needed when the pod has several containers.
    ///   - tailLines: Only the last lines.
    ///   - previous: The log of the previous, terminated instance of a restarted container.
    ///   - limitBytes: At most this many bytes. Default 1 MiB.
    public func logs(
        pod: String, namespace: String? = nil, container: String? = nil, tailLines: Int? = nil,
        previous: Bool = false, limitBytes: Int = 1 << 20
    ) async throws -> String {
        var query: [(String, String)] = []
        if let container { query.append(("container", container)) }
        if let tailLines { query.append(("tailLines", String(tailLines))) }
        if previous { query.append(("previous", "true")) }
        query.append(("limitBytes", String(limitBytes)))
        let data = try await send(
            Request(
                method: .get,
                path: KubernetesResource.pods.path(
                    namespace: namespace ?? self.namespace, name: pod, subresource: "log"),
                query: query, accept: "text/plain, */*", operation: "get pods/log", idempotent: true),
            maxBytes: limitBytes + 4096)
        return String(decoding: data, as: UTF8.self)
    }

    private func deleteOptions(_ policy: PropagationPolicy, gracePeriodSeconds: Int?) throws -> Data {
        struct DeleteOptions: Encodable {
            var kind = "DeleteOptions"
            var apiVersion = "v1"
            var propagationPolicy: String
            var gracePeriodSeconds: Int?
        }
        return try JSONEncoder().encode(
            DeleteOptions(propagationPolicy: policy.rawValue, gracePeriodSeconds: gracePeriodSeconds))
    }

    func decode<V: Decodable>(_ type: V.Type, from data: Data, operation: String) throws -> V {
        do {
            return try JSONDecoder().decode(V.self, from: data)
        } catch {
            throw KubernetesError(
                code: .invalidResponse, message: "the answer is not a valid \(V.self): \(error)", operation: operation,
                underlying: error)
        }
    }
}
