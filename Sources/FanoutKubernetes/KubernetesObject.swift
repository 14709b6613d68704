import Foundation

/// An object of the Kubernetes API that ``KubernetesClient`` can create, read, list, watch and delete.
///
/// Conforming types decode only the fields they declare; unknown fields the server adds are ignored.
public protocol KubernetesObject: Codable, Sendable {
    /// Where objects of this type live in the API.
    static var resource: KubernetesResource { get }
    /// The object's metadata.
    var metadata: ObjectMeta { get set }
}

/// A resource of the API: its group, version and plural name, which make its REST path.
public struct KubernetesResource: Sendable, Hashable, CustomStringConvertible {
    /// The API group; empty for the core group.
    public var group: String
    public var version: String
    /// The plural name used in paths: `jobs`, `pods`.
    public var plural: String
    public var kind: String
    /// Whether objects live in a namespace.
    public var namespaced: Bool

    public init(group: String, version: String, plural: String, kind: String, namespaced: Bool = true) {
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
    }

    /// `batch/v1`, or `v1` for the core group.
    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }

    public var description: String { plural }

    /// The REST path of a collection or of one object, with an optional subresource (`log`, `status`).
    public func path(namespace: String?, name: String? = nil, subresource: String? = nil) -> String {
        var path = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        if namespaced, let namespace { path += "/namespaces/\(Self.escape(namespace))" }
        path += "/\(plural)"
        if let name { path += "/\(Self.escape(name))" }
        if let subresource { path += "/\(subresource)" }
        return path
    }

    private static func escape(_ segment: String) -> String {
        segment.addingPercentEncoding(
            withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/")))
            ?? segment
    }

    public static let jobs = KubernetesResource(group: "batch", version: "v1", plural: "jobs", kind: "Job")
    public static let pods = KubernetesResource(group: "", version: "v1", plural: "pods", kind: "Pod")
    public static let configMaps = KubernetesResource(group: "", version: "v1", plural: "configmaps", kind: "ConfigMap")
    public static let secrets = KubernetesResource(group: "", version: "v1", plural: "secrets", kind: "Secret")
    public static let namespaces = KubernetesResource(
        group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false)
    static let events = KubernetesResource(group: "", version: "v1", plural: "events", kind: "Event")
}

/// Standard object metadata (the fields Fanout reads and writes).
public struct ObjectMeta: Codable, Sendable, Hashable {
    public var name: String?
    public var generateName: String?
    public var namespace: String?
    public var labels: [String: String]?
    public var annotations: [String: String]?
    /// Set by the server.
    public var uid: String?
    /// Set by the server; changes with every write.
    public var resourceVersion: String?
    /// Set by the server, RFC 3339.
    public var creationTimestamp: String?
    /// Set by the server when deletion has started, RFC 3339.
    public var deletionTimestamp: String?

    public init(
        name: String? = nil, namespace: String? = nil, labels: [String: String]? = nil,
        annotations: [String: String]? = nil
    ) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
        self.annotations = annotations
    }
}

/// Metadata of a list: the resourceVersion to watch from, and the token of the next page.
public struct ListMeta: Codable, Sendable, Hashable {
    public var resourceVersion: String?
    /// The `continue` token of the next page; empty or `nil` on the last page.
    public var continueToken: String?
    public var remainingItemCount: Int?

    enum CodingKeys: String, CodingKey {
        case resourceVersion
        case continueToken = "continue"
        case remainingItemCount
    }

    public init(resourceVersion: String? = nil, continueToken: String? = nil) {
        self.resourceVersion = resourceVersion
        self.continueToken = continueToken
    }
}

/// One page of a list, or every page of ``KubernetesClient/listAll(_:namespace:labelSelector:pageSize:)``.
public struct KubernetesList<Item: KubernetesObject>: Codable, Sendable {
    public var metadata: ListMeta
    public var items: [Item]

    public init(metadata: ListMeta, items: [Item]) {
        self.metadata = metadata
        self.items = items
    }

    enum CodingKeys: String, CodingKey { case metadata, items }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        metadata = try container.decodeIfPresent(ListMeta.self, forKey: .metadata) ?? ListMeta()
        items = try container.decodeIfPresent([Item].self, forKey: .items) ?? []
    }
}

/// The API's `Status` object: what error answers carry.
public struct KubernetesStatus: Codable, Sendable, Hashable {
    public var status: String?
    public var message: String?
    public var reason: String?
    public var code: Int?
    public var details: Details?

    public struct Details: Codable, Sendable, Hashable {
        public var name: String?
        public var group: String?
        public var kind: String?
        public var causes: [Cause]?
    }

    public struct Cause: Codable, Sendable, Hashable {
        public var reason: String?
        public var message: String?
        public var field: String?
    }
}

/// How a patch's body changes an object: the `Content-Type` of a `PATCH`.
public enum PatchType: String, Sendable, Hashable {
    /// JSON merge patch (RFC 7386): the fields the body names are set, `null` removes one, lists are replaced.
    case merge = "application/merge-patch+json"
    /// JSON patch (RFC 6902): a list of operations (`add`, `remove`, `replace`, `test`...).
    case json = "application/json-patch+json"
    /// Strategic merge patch: a merge patch whose lists of named items (containers, env) merge by name.
    case strategicMerge = "application/strategic-merge-patch+json"
}

/// How a delete reaches an object's dependents (a Job's pods).
public enum PropagationPolicy: String, Sendable, Hashable {
    /// Dependents are deleted before the owner disappears.
    case foreground = "Foreground"
    /// The owner disappears now; the garbage collector deletes the dependents.
    case background = "Background"
    /// Dependents are left behind. batch/v1 Jobs default to this: always choose another policy for Jobs.
    case orphan = "Orphan"
}
