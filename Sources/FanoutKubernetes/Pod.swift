/// A core/v1 Pod: what Fanout reads of the pods its Jobs start.
public struct Pod: KubernetesObject, Hashable {
    public static let resource = KubernetesResource.pods

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: PodSpec?
    public var status: PodStatus?

    public init(metadata: ObjectMeta, spec: PodSpec) {
        self.apiVersion = Self.resource.apiVersion
        self.kind = Self.resource.kind
        self.metadata = metadata
        self.spec = spec
    }

    /// `Pending`, `Running`, `Succeeded`, `Failed` or `Unknown`; `Pending` until the server says otherwise.
    public var phase: String { status?.phase ?? "Pending" }

    /// The condition of this type whose status is `status`, if any.
    public func condition(_ type: String, status: String = "True") -> PodCondition? {
        self.status?.conditions?.first { $0.type == type && $0.status == status }
    }
}

public struct PodTemplateSpec: Codable, Sendable, Hashable {
    public var metadata: ObjectMeta?
    public var spec: PodSpec

    public init(metadata: ObjectMeta? = nil, spec: PodSpec) {
        self.metadata = metadata
        self.spec = spec
    }
}

public struct PodSpec: Codable, Sendable, Hashable {
    /// `Never`, `OnFailure` or `Always`.
    public var restartPolicy: String?
    public var initContainers: [Container]?
    public var containers: [Container]
    public var volumes: [Volume]?
    public var nodeSelector: [String: String]?
    public var tolerations: [Toleration]?
    /// The pod's affinity, passed through as written.
    public var affinity: JSONValue?
    public var priorityClassName: String?
    public var serviceAccountName: String?
    public var imagePullSecrets: [LocalObjectReference]?
    public var terminationGracePeriodSeconds: Int?
    public var nodeName: String?
    public var securityContext: PodSecurityContext?

    public init(containers: [Container]) {
        self.containers = containers
    }
}

public struct Container: Codable, Sendable, Hashable {
    public var name: String
    public var image: String?
    public var command: [String]?
    public var args: [String]?
    public var env: [EnvVar]?
    public var envFrom: [EnvFromSource]?
    public var resources: ResourceRequirements?
    public var volumeMounts: [VolumeMount]?
    public var workingDir: String?
    public var securityContext: SecurityContext?

    public init(name: String, image: String? = nil, command: [String]? = nil, args: [String]? = nil) {
        self.name = name
        self.image = image
        self.command = command
        self.args = args
    }
}

/// An environment variable: a literal value, or a reference (a Secret's key, a field of the pod).
public struct EnvVar: Codable, Sendable, Hashable {
    public var name: String
    public var value: String?
    public var valueFrom: Source?

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    public init(name: String, valueFrom: Source) {
        self.name = name
        self.valueFrom = valueFrom
    }

    /// The value of one key of a Secret, by reference.
    public static func secretKey(_ name: String, secret: String, key: String) -> EnvVar {
        EnvVar(name: name, valueFrom: Source(secretKeyRef: KeySelector(name: secret, key: key)))
    }

    public struct Source: Codable, Sendable, Hashable {
        public var secretKeyRef: KeySelector?
        public var configMapKeyRef: KeySelector?
        public var fieldRef: FieldSelector?

        public init(
            secretKeyRef: KeySelector? = nil, configMapKeyRef: KeySelector? = nil, fieldRef: FieldSelector? = nil
        ) {
            self.secretKeyRef = secretKeyRef
            self.configMapKeyRef = configMapKeyRef
            self.fieldRef = fieldRef
        }
    }

    public struct KeySelector: Codable, Sendable, Hashable {
        public var name: String
        public var key: String
        public var optional: Bool?

        public init(name: String, key: String, optional: Bool? = nil) {
            self.name = name
            self.key = key
            self.optional = optional
        }
    }

    public struct FieldSelector: Codable, Sendable, Hashable {
        public var fieldPath: String

        public init(fieldPath: String) { self.fieldPath = fieldPath }
    }
}

/// Every key of a Secret or ConfigMap as environment variables.
public struct EnvFromSource: Codable, Sendable, Hashable {
    public var prefix: String?
    public var secretRef: Reference?
    public var configMapRef: Reference?

    public init(secretRef: Reference) { self.secretRef = secretRef }

    public init(configMapRef: Reference) { self.configMapRef = configMapRef }

    public struct Reference: Codable, Sendable, Hashable {
        public var name: String
        public var optional: Bool?

        public init(name: String, optional: Bool? = nil) {
            self.name = name
            self.optional = optional
        }
    }
}

public struct ResourceRequirements: Codable, Sendable, Hashable {
    /// Quantities by resource name: `cpu: 500m`, `memory: 1Gi`.
    public var requests: [String: String]?
    public var limits: [String: String]?

    public init(requests: [String: String]? = nil, limits: [String: String]? = nil) {
        self.requests = requests
        self.limits = limits
    }
}

public struct VolumeMount: Codable, Sendable, Hashable {
    public var name: String
    public var mountPath: String
    public var readOnly: Bool?

    public init(name: String, mountPath: String, readOnly: Bool? = nil) {
        self.name = name
        self.mountPath = mountPath
        self.readOnly = readOnly
    }
}

/// A pod volume; Fanout uses only `emptyDir`.
public struct Volume: Codable, Sendable, Hashable {
    public var name: String
    public var emptyDir: EmptyDir?

    public init(name: String, emptyDir: EmptyDir) {
        self.name = name
        self.emptyDir = emptyDir
    }

    public struct EmptyDir: Codable, Sendable, Hashable {
        public var medium: String?
        public var sizeLimit: String?

        public init(medium: String? = nil, sizeLimit: String? = nil) {
            self.medium = medium
            self.sizeLimit = sizeLimit
        }
    }
}

public struct Toleration: Codable, Sendable, Hashable {
    public var key: String?
    /// `Exists` or `Equal` (the default).
    public var `operator`: String?
    public var value: String?
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`; `nil` matches all.
    public var effect: String?
    public var tolerationSeconds: Int?

    public init(
        key: String? = nil, operator: String? = nil, value: String? = nil, effect: String? = nil,
        tolerationSeconds: Int? = nil
    ) {
        self.key = key
        self.operator = `operator`
        self.value = value
        self.effect = effect
        self.tolerationSeconds = tolerationSeconds
    }
}

public struct LocalObjectReference: Codable, Sendable, Hashable {
    public var name: String

    public init(name: String) { self.name = name }
}

public struct PodStatus: Codable, Sendable, Hashable {
    public var phase: String?
    /// Set for pods ended by the node: `Evicted`, `DeadlineExceeded`.
    public var reason: String?
    public var message: String?
    public var conditions: [PodCondition]?
    public var initContainerStatuses: [ContainerStatus]?
    public var containerStatuses: [ContainerStatus]?
}

public struct PodCondition: Codable, Sendable, Hashable {
    public var type: String
    public var status: String
    public var reason: String?
    public var message: String?
}

public struct ContainerStatus: Codable, Sendable, Hashable {
    public var name: String
    /// The image the container runs, as the kubelet reports it.
    public var image: String?
    public var state: ContainerState?
    public var lastState: ContainerState?
    public var restartCount: Int?
}

public struct ContainerState: Codable, Sendable, Hashable {
    public var waiting: Waiting?
    public var terminated: Terminated?

    public struct Waiting: Codable, Sendable, Hashable {
        public var reason: String?
        public var message: String?
    }

    public struct Terminated: Codable, Sendable, Hashable {
        public var exitCode: Int32
        public var signal: Int32?
        public var reason: String?
        public var message: String?
    }
}
