import FanoutCore
import Foundation
import Yams

/// What a run's manifests are made from: the run, its shards, and where the executable can be downloaded.
/// ``KubernetesBackend/manifests(for:namespace:)`` turns it into Jobs, the same way for a dry run as for a run.
public struct KubernetesJobPlan: Sendable, Hashable {
    public var runID: String
    /// The state prefix as a location, as the workers will read it.
    public var stateLocation: String
    public var stepName: String
    /// The ``Submission/runDigest`` workers check the stored spec against; `nil` in a dry run's manifests.
    public var runDigest: String?
    /// Shards to run.
    public var shards: [Int]
    /// Extra attempts per shard (`backoffLimitPerIndex`, or `backoffLimit` per shard).
    public var retries: Int
    /// Shards that may fail for good before the Jobs stop; `nil`: any number.
    public var maxFailedShards: Int?
    /// The presigned URL of the shipped executable; needed when shipping it.
    public var executableURL: String?
    /// The executable's SHA-256 (hex), checked by the init container after the download.
    public var executableSHA256: String?
    /// The shipped executable's architecture (`amd64`, `arm64`), which pods select with the node label
    /// `kubernetes.io/arch` unless the options' node selector names one.
    public var executableArchitecture: String?
    /// Tells this execution's Jobs and pods apart from an earlier one of the same run (a re-attach).
    public var token: String

    public init(
        runID: String, stateLocation: String, stepName: String, shards: [Int], retries: Int,
        maxFailedShards: Int? = nil, executableURL: String? = nil, executableSHA256: String? = nil,
        executableArchitecture: String? = nil, token: String = KubernetesJobPlan.newToken()
    ) {
        self.runID = runID
        self.stateLocation = stateLocation
        self.stepName = stepName
        self.shards = shards
        self.retries = retries
        self.maxFailedShards = maxFailedShards
        self.executableURL = executableURL
        self.executableSHA256 = executableSHA256
        self.executableArchitecture = executableArchitecture
        self.token = token
    }

    /// Five random lowercase letters and digits.
    public static func newToken() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<5).map { _ in alphabet.randomElement()! })
    }

    /// The label selector of this execution's Jobs and pods.
    public var selector: String {
        KubernetesLabels.selector(runID: runID, token: token)
    }
}

/// The labels and annotations Fanout puts on its Jobs and pods.
public enum KubernetesLabels {
    /// The run id, on every Job and pod of the run.
    public static let run = "fanout.dev/run"
    /// The execution of the run (a run re-attached later gets a new one).
    public static let submission = "fanout.dev/submission"
    /// The step's name.
    public static let step = "fanout.dev/step"
    /// Indexed Jobs: added to the completion index to make the shard.
    public static let shardOffset = "fanout.dev/shard-offset"
    /// Job-per-shard mode: the shard.
    public static let shard = "fanout.dev/shard"
    /// The completion index the Job controller puts on an Indexed Job's pods.
    public static let completionIndex = "batch.kubernetes.io/job-completion-index"

    /// A valid label value: at most 63 of `[A-Za-z0-9._-]`, starting and ending with a letter or digit.
    static func value(_ text: String) -> String {
        var characters = text.map { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) ? $0 : "-" }
        if characters.count > 63 { characters = Array(characters.prefix(63)) }
        while let first = characters.first, !(first.isLetter || first.isNumber) { characters.removeFirst() }
        while let last = characters.last, !(last.isLetter || last.isNumber) { characters.removeLast() }
        return String(characters)
    }

    /// A valid DNS-1123 label fragment: lowercase letters, digits and `-`.
    static func dnsFragment(_ text: String) -> String {
        let mapped = text.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" }
        return String(mapped).trimmingCharacters(in: CharacterSet(charactersIn: "-"))
    }
}

extension KubernetesBackend {
    /// Where the init container puts the downloaded executable (an `emptyDir`).
    static let binaryFolder = "/opt/fanout/bin"
    static let workerContainer = "worker"
    static let fetchContainer = "fetch-worker"
    /// The init container's requests and limits: small, and explicit, so that a namespace whose ResourceQuota
    /// counts limits (and so requires them of every container) admits its pods.
    static let fetchResources = ResourceRequirements(
        requests: ["cpu": "100m", "memory": "64Mi"], limits: ["cpu": "500m", "memory": "128Mi"])
    /// The well-known node label of a node's CPU architecture.
    static let architectureLabel = "kubernetes.io/arch"
    /// At most this many Jobs for a plan whose shards are not contiguous (a re-attached run); gaps between
    /// ranges are then covered, and their already committed shards finish at once.
    static let maxRanges = 16

    /// The Jobs of a plan, exactly as a run creates them and its preview shows them.
    /// - Throws: ``KubernetesError`` with code ``KubernetesError/Code/invalidConfiguration`` for unusable options
    ///   (a credential in ``Options/environment``, no executable URL or command).
    public func manifests(for plan: KubernetesJobPlan, namespace: String) throws -> [Job] {
        let template = try podTemplate(for: plan)
        let baseName = "fanout-\(KubernetesLabels.dnsFragment(plan.runID).prefix(36))-\(plan.token)"
        var labels = options.labels
        labels[KubernetesLabels.run] = KubernetesLabels.value(plan.runID)
        labels[KubernetesLabels.submission] = plan.token
        let step = KubernetesLabels.value(plan.stepName)
        if !step.isEmpty { labels[KubernetesLabels.step] = step }
        labels["app.kubernetes.io/managed-by"] = "fanout"
        let annotations = options.annotations.isEmpty ? nil : options.annotations

        switch options.mode {
        case .indexed:
            let ranges = Self.jobRanges(
                shards: plan.shards, maxPerJob: max(1, min(options.maxCompletionsPerJob, 100_000)))
            let total = ranges.reduce(0) { $0 + $1.count }
            let parallelism = max(1, options.parallelism ?? min(total, 1000))
            return ranges.enumerated().map { number, range in
                var podTemplate = template
                podTemplate.metadata?.labels?[KubernetesLabels.shardOffset] = String(range.lowerBound)
                podTemplate.spec.containers[0].env =
                    (podTemplate.spec.containers[0].env ?? []) + [
                        EnvVar(name: "FANOUT_WORKER_SHARD_OFFSET", value: String(range.lowerBound))
                    ]
                var spec = JobSpec(template: podTemplate)
                spec.completionMode = "Indexed"
                spec.completions = range.count
                let share = Int((Double(parallelism) * Double(range.count) / Double(max(1, total))).rounded(.up))
                spec.parallelism = max(1, min(range.count, share))
                spec.backoffLimitPerIndex = max(0, plan.retries)
                spec.maxFailedIndexes = plan.maxFailedShards.map { min(max(0, $0), range.count) }
                spec.podFailurePolicy = podFailurePolicy(failShardAction: "FailIndex")
                spec.ttlSecondsAfterFinished = options.ttlSecondsAfterFinished
                spec.activeDeadlineSeconds = options.activeDeadlineSeconds
                let name = ranges.count == 1 ? baseName : "\(baseName)-\(number)"
                return Job(
                    metadata: ObjectMeta(name: name, namespace: namespace, labels: labels, annotations: annotations),
                    spec: spec)
            }
        case .jobPerShard:
            return Array(Set(plan.shards)).sorted().map { shard in
                var podTemplate = template
                podTemplate.metadata?.labels?[KubernetesLabels.shard] = String(shard)
                podTemplate.spec.containers[0].env =
                    (podTemplate.spec.containers[0].env ?? []) + [
                        EnvVar(name: "FANOUT_WORKER_SHARD", value: String(shard))
                    ]
                var spec = JobSpec(template: podTemplate)
                spec.completions = 1
                spec.parallelism = 1
                spec.backoffLimit = max(0, plan.retries)
                spec.podFailurePolicy = podFailurePolicy(failShardAction: "FailJob")
                spec.ttlSecondsAfterFinished = options.ttlSecondsAfterFinished
                spec.activeDeadlineSeconds = options.activeDeadlineSeconds
                var jobLabels = labels
                jobLabels[KubernetesLabels.shard] = String(shard)
                return Job(
                    metadata: ObjectMeta(
                        name: "\(baseName)-s\(shard)", namespace: namespace, labels: jobLabels, annotations: annotations
                    ),
                    spec: spec)
            }
        }
    }

    /// The plan's manifests as YAML documents, which `kubectl apply -f -` accepts.
    public func manifestYAML(for plan: KubernetesJobPlan, namespace: String) throws -> String {
        let encoder = YAMLEncoder()
        encoder.options.sortKeys = true
        return try manifests(for: plan, namespace: namespace).map { try encoder.encode($0) }
            .joined(separator: "---\n")
    }

    /// Contiguous ranges of shards, at most ``maxRanges`` of them (merging across the smallest gaps), each cut
    /// to at most `maxPerJob` shards.
    static func jobRanges(shards: [Int], maxPerJob: Int) -> [ClosedRange<Int>] {
        var ranges: [ClosedRange<Int>] = []
        for shard in Set(shards).sorted() {
            if let last = ranges.last, last.upperBound + 1 == shard {
                ranges[ranges.count - 1] = last.lowerBound...shard
            } else {
                ranges.append(shard...shard)
            }
        }
        while ranges.count > maxRanges {
            var best = 0
            for index in 1..<(ranges.count - 1) {
                let gap = ranges[index + 1].lowerBound - ranges[index].upperBound
                if gap < ranges[best + 1].lowerBound - ranges[best].upperBound { best = index }
            }
            ranges[best] = ranges[best].lowerBound...ranges[best + 1].upperBound
            ranges.remove(at: best + 1)
        }
        return ranges.flatMap { range in
            stride(from: range.lowerBound, through: range.upperBound, by: maxPerJob).map { start in
                start...min(range.upperBound, start + maxPerJob - 1)
            }
        }
    }

    /// Disruptions are ignored (they use no retry); exits that no image or attempt can change fail at once:
    /// ``Options/failJobExitCodes`` the Job, ``Options/failIndexExitCodes`` the shard (`failShardAction`: the
    /// index, or the Job of a single shard). Any other failure counts against the shard's retries.
    private func podFailurePolicy(failShardAction: String) -> PodFailurePolicy {
        func codes(_ list: [Int32]) -> [Int32] { Array(Set(list.filter { (1...255).contains($0) })).sorted() }
        func rule(_ action: String, _ values: [Int32]) -> PodFailurePolicyRule {
            PodFailurePolicyRule(
                action: action, onExitCodes: .init(containerName: Self.workerContainer, operator: "In", values: values))
        }
        var rules = [
            PodFailurePolicyRule(action: "Ignore", onPodConditions: [.init(type: "DisruptionTarget", status: "True")])
        ]
        let failJob = codes(options.failJobExitCodes)
        let failShard = codes(options.failIndexExitCodes).filter { !failJob.contains($0) }
        if failShardAction == "FailJob" {
            if !(failJob + failShard).isEmpty { rules.append(rule("FailJob", (failJob + failShard).sorted())) }
        } else {
            if !failJob.isEmpty { rules.append(rule("FailJob", failJob)) }
            if !failShard.isEmpty { rules.append(rule(failShardAction, failShard)) }
        }
        return PodFailurePolicy(rules: rules)
    }

    private func podTemplate(for plan: KubernetesJobPlan) throws -> PodTemplateSpec {
        var worker = Container(name: Self.workerContainer, image: options.image)
        var initContainers: [Container]?
        var volumes: [Volume]?
        if options.shipExecutable {
            guard let url = plan.executableURL else {
                throw KubernetesError(
                    code: .invalidConfiguration, message: "the plan has no executable URL to download the worker from")
            }
            let path = "\(Self.binaryFolder)/worker"
            var script = "curl -fsSL --retry 5 --retry-connrefused \"$FANOUT_EXECUTABLE_URL\" -o \(path)"
            var fetchEnv = [EnvVar(name: "FANOUT_EXECUTABLE_URL", value: url)]
            if let digest = plan.executableSHA256 {
                script += " && echo \"$FANOUT_EXECUTABLE_SHA256  \(path)\" | sha256sum -c - >/dev/null"
                fetchEnv.append(EnvVar(name: "FANOUT_EXECUTABLE_SHA256", value: digest))
            }
            script += " && chmod +x \(path)"
            var fetch = Container(
                name: Self.fetchContainer, image: options.downloaderImage, command: ["sh", "-c", script])
            fetch.env = fetchEnv
            fetch.volumeMounts = [VolumeMount(name: "fanout-bin", mountPath: Self.binaryFolder)]
            fetch.resources = Self.fetchResources
            fetch.securityContext = Self.containerSecurityContext
            initContainers = [fetch]
            volumes = [Volume(name: "fanout-bin", emptyDir: .init())]
            worker.command = [path]
            worker.args = options.arguments
            worker.volumeMounts = [VolumeMount(name: "fanout-bin", mountPath: Self.binaryFolder, readOnly: true)]
        } else {
            guard let command = options.command, !command.isEmpty else {
                throw KubernetesError(
                    code: .invalidConfiguration,
                    message: "shipExecutable is false but no command names the program in the image",
                    hint: "Set options.command to the image's path of the program, e.g. [\"/usr/local/bin/my-tool\"].")
            }
            worker.command = command
            worker.args = options.arguments
        }
        worker.env = try workerEnvironment(plan)
        if !options.secretEnvironment.isEmpty {
            worker.envFrom = options.secretEnvironment.map { EnvFromSource(secretRef: .init(name: $0)) }
        }
        worker.resources = resourceRequirements()
        worker.securityContext = Self.containerSecurityContext

        var spec = PodSpec(containers: [worker])
        spec.restartPolicy = "Never"
        spec.securityContext = podSecurityContext()
        spec.initContainers = initContainers
        spec.volumes = volumes
        var nodeSelector = options.scheduling.nodeSelector
        if options.shipExecutable, let architecture = plan.executableArchitecture,
            nodeSelector[Self.architectureLabel] == nil
        {
            nodeSelector[Self.architectureLabel] = architecture
        }
        spec.nodeSelector = nodeSelector.isEmpty ? nil : nodeSelector
        spec.tolerations = options.scheduling.tolerations.isEmpty ? nil : options.scheduling.tolerations
        spec.affinity = options.scheduling.affinity
        spec.priorityClassName = options.scheduling.priorityClassName
        spec.serviceAccountName = options.serviceAccountName
        spec.imagePullSecrets =
            options.imagePullSecrets.isEmpty
            ? nil : options.imagePullSecrets.map { LocalObjectReference(name: $0) }

        var labels = options.labels
        labels[KubernetesLabels.run] = KubernetesLabels.value(plan.runID)
        labels[KubernetesLabels.submission] = plan.token
        let step = KubernetesLabels.value(plan.stepName)
        if !step.isEmpty { labels[KubernetesLabels.step] = step }
        return PodTemplateSpec(
            metadata: ObjectMeta(labels: labels, annotations: options.annotations.isEmpty ? nil : options.annotations),
            spec: spec)
    }

    /// The worker's variables: its assignment (without the shard, which comes from the Job), then the plain
    /// variables of the options, then Secret references.
    private func workerEnvironment(_ plan: KubernetesJobPlan) throws -> [EnvVar] {
        var assignment = WorkerAssignment(
            runID: plan.runID, stateLocation: plan.stateLocation, stepName: plan.stepName, shard: 0, attempt: 1)
        assignment.concurrency = max(1, options.filesInFlight)
        assignment.runDigest = plan.runDigest
        var variables = assignment.environment
        variables["FANOUT_WORKER_SHARD"] = nil
        for (name, value) in options.environment {
            if Self.looksLikeCredential(name) {
                throw KubernetesError(
                    code: .invalidConfiguration,
                    message: "the environment variable \(name) looks like a credential and would be written into the "
                        + "Job manifest in plain text",
                    hint: "Put it in a Secret and pass it by reference: options.secretEnvironment = [\"SECRET\"] or "
                        + "options.secretKeyEnvironment[\"\(name)\"] = .init(secret: \"SECRET\", key: \"KEY\").")
            }
            variables[name] = value
        }
        var env = variables.sorted { $0.key < $1.key }.map { EnvVar(name: $0.key, value: $0.value) }
        for (name, reference) in options.secretKeyEnvironment.sorted(by: { $0.key < $1.key }) {
            env.append(.secretKey(name, secret: reference.secret, key: reference.key))
        }
        return env
    }

    /// Every container's: no privilege escalation, no capabilities, as Pod Security's `restricted` level requires.
    static let containerSecurityContext = SecurityContext(
        allowPrivilegeEscalation: false, capabilities: .init(drop: ["ALL"]))

    /// The user of ``Options/runAsUser`` (its id also the group's; verified non-root unless it is 0) and the
    /// runtime's default seccomp filter.
    private func podSecurityContext() -> PodSecurityContext {
        var context = PodSecurityContext(seccompProfile: .runtimeDefault)
        if let user = options.runAsUser {
            context.runAsUser = user
            context.runAsGroup = user
            context.runAsNonRoot = user == 0 ? nil : true
        }
        return context
    }

    static func looksLikeCredential(_ name: String) -> Bool {
        let upper = name.uppercased()
        return ["SECRET", "PASSWORD", "TOKEN", "CREDENTIAL", "PRIVATE_KEY", "ACCESS_KEY", "API_KEY"]
            .contains { upper.contains($0) }
    }

    private func resourceRequirements() -> ResourceRequirements? {
        let resources = options.resources
        var requests: [String: String] = [:]
        var limits: [String: String] = [:]
        if let cpu = resources.cpu { requests["cpu"] = cpu }
        if let cpuLimit = resources.cpuLimit { limits["cpu"] = cpuLimit }
        if let memory = resources.memory {
            requests["memory"] = memory
            limits["memory"] = memory
        }
        if let storage = resources.ephemeralStorage {
            requests["ephemeral-storage"] = storage
            limits["ephemeral-storage"] = storage
        }
        if let gpus = resources.gpus, gpus > 0 { limits["nvidia.com/gpu"] = String(gpus) }
        if requests.isEmpty && limits.isEmpty { return nil }
        return ResourceRequirements(requests: requests.isEmpty ? nil : requests, limits: limits.isEmpty ? nil : limits)
    }
}
