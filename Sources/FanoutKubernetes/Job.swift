/// A batch/v1 Job: the fields Fanout writes, and the status it reads.
public struct Job: KubernetesObject, Hashable {
    public static let resource = KubernetesResource.jobs

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: JobSpec?
    public var status: JobStatus?

    public init(metadata: ObjectMeta, spec: JobSpec) {
        self.apiVersion = Self.resource.apiVersion
        self.kind = Self.resource.kind
        self.metadata = metadata
        self.spec = spec
    }

    /// Whether the Job has a `Complete` or `Failed` condition: no pod of it will start again.
    public var isFinished: Bool { succeeded || failedCondition != nil }

    /// Whether the Job has the `Complete` condition.
    public var succeeded: Bool { condition("Complete") != nil }

    /// The `Failed` condition, when the Job failed.
    public var failedCondition: JobCondition? { condition("Failed") }

    func condition(_ type: String) -> JobCondition? {
        status?.conditions?.first { $0.type == type && $0.status == "True" }
    }
}

public struct JobSpec: Codable, Sendable, Hashable {
    /// `Indexed` or `NonIndexed` (the server's default).
    public var completionMode: String?
    public var completions: Int?
    public var parallelism: Int?
    public var backoffLimit: Int?
    public var backoffLimitPerIndex: Int?
    public var maxFailedIndexes: Int?
    public var podFailurePolicy: PodFailurePolicy?
    public var ttlSecondsAfterFinished: Int?
    public var activeDeadlineSeconds: Int?
    public var template: PodTemplateSpec

    public init(template: PodTemplateSpec) {
        self.template = template
    }
}

public struct PodFailurePolicy: Codable, Sendable, Hashable {
    public var rules: [PodFailurePolicyRule]

    public init(rules: [PodFailurePolicyRule]) { self.rules = rules }
}

/// One rule of a pod failure policy: an action (`Ignore`, `FailIndex`, `FailJob`, `Count`) and exactly one of
/// exit codes or pod conditions to match.
public struct PodFailurePolicyRule: Codable, Sendable, Hashable {
    public var action: String
    public var onExitCodes: OnExitCodes?
    public var onPodConditions: [PodConditionPattern]?

    public init(action: String, onExitCodes: OnExitCodes? = nil, onPodConditions: [PodConditionPattern]? = nil) {
        self.action = action
        self.onExitCodes = onExitCodes
        self.onPodConditions = onPodConditions
    }

    public struct OnExitCodes: Codable, Sendable, Hashable {
        public var containerName: String?
        /// `In` or `NotIn`.
        public var `operator`: String
        /// 1 to 255 values, unique and ascending; 0 only with `NotIn`.
        public var values: [Int32]

        public init(containerName: String? = nil, operator: String, values: [Int32]) {
            self.containerName = containerName
            self.operator = `operator`
            self.values = values
        }
    }

    public struct PodConditionPattern: Codable, Sendable, Hashable {
        public var type: String
        public var status: String

        public init(type: String, status: String = "True") {
            self.type = type
            self.status = status
        }
    }
}

public struct JobStatus: Codable, Sendable, Hashable {
    public var active: Int?
    public var ready: Int?
    public var succeeded: Int?
    public var failed: Int?
    public var terminating: Int?
    /// Indexed Jobs: the completed indexes, as `1,3-5,7`.
    public var completedIndexes: String?
    /// Indexed Jobs with per-index back-off: the failed indexes, as `1,3-5,7`.
    public var failedIndexes: String?
    public var conditions: [JobCondition]?
    public var startTime: String?
    public var completionTime: String?
}

public struct JobCondition: Codable, Sendable, Hashable {
    public var type: String
    public var status: String
    public var reason: String?
    public var message: String?
}

/// The index sets of an Indexed Job's status: `1,3-5,7`.
public enum CompletionIndexes {
    /// The indexes of a `completedIndexes` or `failedIndexes` value; malformed parts are skipped.
    public static func parse(_ text: String?) -> [Int] {
        guard let text, !text.isEmpty else { return [] }
        var indexes: [Int] = []
        for part in text.split(separator: ",") {
            let bounds = part.split(separator: "-", maxSplits: 1)
            if bounds.count == 2, let low = Int(bounds[0]), let high = Int(bounds[1]), low <= high {
                indexes.append(contentsOf: low...high)
            } else if bounds.count == 1, let value = Int(bounds[0]) {
                indexes.append(value)
            }
        }
        return indexes
    }
}
