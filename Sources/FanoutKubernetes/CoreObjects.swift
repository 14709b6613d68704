/// A core/v1 ConfigMap.
public struct ConfigMap: KubernetesObject, Hashable {
    public static let resource = KubernetesResource.configMaps

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var data: [String: String]?

    public init(metadata: ObjectMeta, data: [String: String]) {
        self.apiVersion = Self.resource.apiVersion
        self.kind = Self.resource.kind
        self.metadata = metadata
        self.data = data
    }
}

/// A core/v1 Secret. Fanout never writes one into a manifest: pods read them by reference.
public struct Secret: KubernetesObject, Hashable {
    public static let resource = KubernetesResource.secrets

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var type: String?
    /// Values in plain text; the server stores them base64-encoded under `data`.
    public var stringData: [String: String]?
    /// Base64-encoded values, as the server returns them.
    public var data: [String: String]?

    public init(metadata: ObjectMeta, stringData: [String: String]) {
        self.apiVersion = Self.resource.apiVersion
        self.kind = Self.resource.kind
        self.metadata = metadata
        self.type = "Opaque"
        self.stringData = stringData
    }
}

/// A core/v1 Namespace.
public struct Namespace: KubernetesObject, Hashable {
    public static let resource = KubernetesResource.namespaces

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta

    public init(name: String) {
        self.apiVersion = Self.resource.apiVersion
        self.kind = Self.resource.kind
        self.metadata = ObjectMeta(name: name)
    }
}

/// A core/v1 Event: what a controller or the kubelet reports about an object (a Job's `FailedCreate`).
struct Event: KubernetesObject, Hashable {
    static let resource = KubernetesResource.events

    var apiVersion: String?
    var kind: String?
    var metadata: ObjectMeta
    var involvedObject: InvolvedObject?
    /// `FailedCreate`, `SuccessfulCreate`, `Failed`...
    var reason: String?
    var message: String?
    /// `Normal` or `Warning`.
    var type: String?

    struct InvolvedObject: Codable, Sendable, Hashable {
        var kind: String?
        var name: String?
        var uid: String?
    }
}
