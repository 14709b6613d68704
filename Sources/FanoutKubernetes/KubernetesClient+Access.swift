import FanoutHTTP
import Foundation

extension KubernetesClient {
    /// What a run asks of a cluster, each a verb on a resource of a group, as its Role must grant
    /// (docs/KUBERNETES.md): its Jobs created, watched, patched and deleted; its pods watched, read and deleted;
    /// their logs; the Jobs' events.
    public static let runPermissions: [(verb: String, resource: String, group: String)] = [
        ("create", "jobs", "batch"), ("list", "jobs", "batch"), ("watch", "jobs", "batch"), ("patch", "jobs", "batch"),
        ("delete", "jobs", "batch"), ("deletecollection", "jobs", "batch"), ("list", "pods", ""),
        ("watch", "pods", ""), ("delete", "pods", ""), ("get", "pods/log", ""), ("list", "events", ""),
    ]

    /// Whether this client's user may `verb` `resource` (`jobs`, `pods/log`) of `group` in `namespace`, as the API
    /// server answers a SelfSubjectAccessReview (what `kubectl auth can-i` asks), and its reason when it says no.
    /// - Throws: ``KubernetesError`` when the server cannot be asked.
    public func canI(
        _ verb: String, _ resource: String, group: String = "", namespace: String? = nil
    ) async throws -> (allowed: Bool, reason: String?) {
        let parts = resource.split(separator: "/", maxSplits: 1).map(String.init)
        var attributes: [String: JSONValue] = [
            "namespace": .string(namespace ?? self.namespace), "verb": .string(verb), "group": .string(group),
            "resource": .string(parts[0]),
        ]
        if parts.count == 2 { attributes["subresource"] = .string(parts[1]) }
        let review: JSONValue = [
            "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": ["resourceAttributes": .object(attributes)],
        ]
        let data = try await send(
            Request(
                method: .post, path: "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                body: try JSONEncoder().encode(review), operation: "create selfsubjectaccessreviews",
                idempotent: true))
        let answer = try decode(AccessReview.self, from: data, operation: "create selfsubjectaccessreviews")
        return (answer.status?.allowed ?? false, answer.status?.reason.flatMap { $0.isEmpty ? nil : $0 })
    }
}

/// The part of a SelfSubjectAccessReview's answer that says yes or no.
private struct AccessReview: Decodable {
    struct Status: Decodable {
        var allowed: Bool
        var reason: String?
    }

    var status: Status?
}
