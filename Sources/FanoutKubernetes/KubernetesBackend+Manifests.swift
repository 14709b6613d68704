public import FanoutCore
import Foundation
import Yams

/// What one launch of attempts is made into: the run, the shards, the attempt they run and how, and where the
/// executable can be downloaded. ``KubernetesBackend/manifests(for:namespace:)`` turns it into Jobs, the same way
/// for a dry run as for a run.
public struct KubernetesJobPlan: Sendable, Hashable {
    public var runID: String
    /// The state prefix as a location, as the workers will read it.
    public var stateLocation: String
    public var stepName: String
    /// The ``Submission/runDigest`` workers check the stored spec against; `nil` in a dry run's manifests.
    public var runDigest: String?
    /// Shards to run, one pod each.
    public var shards: [Int]
    /// The attempt number of every pod (`FANOUT_WORKER_ATTEMPT`, label `fanout.dev/attempt`).
    public var attempt: Int
    /// The worker's memory request and limit in bytes, in place of the options' (a shard run again after an OOM
    /// kill). Default `nil`.
    public var memoryBytes: Int64?
    /// Files one at a time after a crash (``CrashIsolation``). Default `nil`.
    public var isolation: CrashIsolation?
    /// Whether the pods are backups of slow attempts (label `fanout.dev/backup`). Default `false`.
    public var isBackup: Bool
    /// The launch's number within this execution of the run, which tells its Jobs' names apart: 0 for the first.
    public var wave: Int
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
        runID: String, stateLocation: String, stepName: String, shards: [Int], attempt: Int = 1,
        executableURL: String? = nil, executableSHA256: String? = nil, executableArchitecture: String? = nil,
        token: String = KubernetesJobPlan.newToken()
    ) {
        self.runID = runID
        self.stateLocation = stateLocation
        self.stepName = stepName
        self.shards = shards
        self.attempt = attempt
        self.isBackup = false
        self.wave = 0
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
    /// Indexed Jobs of earlier releases: added to the completion index to make the shard.
    public static let shardOffset = "fanout.dev/shard-offset"
    /// Indexed Jobs' pods (an annotation): the Job's shards (``ShardList``), one per completion index.
    public static let shards = "fanout.dev/shards"
    /// The attempt number a Job's pods run.
    public static let attempt = "fanout.dev/attempt"
    /// On the Jobs and pods of backup attempts: `true`.
    public static let backup = "fanout.dev/backup"
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
    /// At most this many runs of consecutive shards in one Indexed Job's ``ShardList``, which every pod carries in
    /// its environment and annotations: a launch of scattered shards is split into Jobs of this many runs.
    static let maxRunsPerJob = 1000

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
        labels[KubernetesLabels.attempt] = String(plan.attempt)
        if plan.isBackup { labels[KubernetesLabels.backup] = "true" }
        let annotations = options.annotations.isEmpty ? nil : options.annotations

        let name = plan.wave == 0 ? baseName : "\(baseName)-\(plan.wave)"
        switch options.mode {
        case .indexed:
            let lists = Self.jobShardLists(
                shards: plan.shards, maxPerJob: max(1, min(options.maxCompletionsPerJob, 100_000)))
            let total = lists.reduce(0) { $0 + $1.count }
            let parallelism = max(1, options.parallelism ?? min(total, 1000))
            return lists.enumerated().map { number, list in
                var podTemplate = template
                var podAnnotations = podTemplate.metadata?.annotations ?? [:]
                podAnnotations[KubernetesLabels.shards] = list.description
                podTemplate.metadata?.annotations = podAnnotations
                podTemplate.spec.containers[0].env =
                    (podTemplate.spec.containers[0].env ?? []) + [
                        EnvVar(name: "FANOUT_WORKER_SHARDS", value: list.description)
                    ]
                var spec = JobSpec(template: podTemplate)
                spec.completionMode = "Indexed"
                spec.completions = list.count
                let share = Int((Double(parallelism) * Double(list.count) / Double(max(1, total))).rounded(.up))
                spec.parallelism = max(1, min(list.count, share))
                spec.backoffLimitPerIndex = 0
                spec.podFailurePolicy = podFailurePolicy()
                spec.ttlSecondsAfterFinished = options.ttlSecondsAfterFinished
                spec.activeDeadlineSeconds = options.activeDeadlineSeconds
                return Job(
                    metadata: ObjectMeta(
                        name: lists.count == 1 ? name : "\(name)-\(number)", namespace: namespace, labels: labels,
                        annotations: annotations),
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
                spec.backoffLimit = 0
                spec.podFailurePolicy = podFailurePolicy()
                spec.ttlSecondsAfterFinished = options.ttlSecondsAfterFinished
                spec.activeDeadlineSeconds = options.activeDeadlineSeconds
                var jobLabels = labels
                jobLabels[KubernetesLabels.shard] = String(shard)
                return Job(
                    metadata: ObjectMeta(
                        name: "\(name)-s\(shard)", namespace: namespace, labels: jobLabels, annotations: annotations),
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

    /// The shards of a launch in Jobs of at most `maxPerJob` shards and ``maxRunsPerJob`` runs each, in order.
    static func jobShardLists(shards: [Int], maxPerJob: Int) -> [ShardList] {
        var lists: [ShardList] = []
        var current: [Int] = []
        var runs = 0
        for shard in Set(shards).sorted() {
            let extendsRun = current.last.map { $0 + 1 == shard } ?? false
            if current.count == maxPerJob || (!extendsRun && runs == maxRunsPerJob) {
                lists.append(ShardList(current))
                current = []
                runs = 0
            }
            if !(current.last.map { $0 + 1 == shard } ?? false) { runs += 1 }
            current.append(shard)
        }
        if !current.isEmpty { lists.append(ShardList(current)) }
        return lists
    }

    /// Every pod failure ends its attempt: the index fails (`backoffLimitPerIndex` 0, or `backoffLimit` 0 for a
    /// Job per shard), and the run's scheduler decides whether and how the shard runs again, in a new Job. The
    /// policy adds one rule: exits that mean the image cannot run the program (``Options/failJobExitCodes``) fail
    /// the whole Job at once, so that its other pods do not start only to fail the same way.
    private func podFailurePolicy() -> PodFailurePolicy? {
        let failJob = Array(Set(options.failJobExitCodes.filter { (1...255).contains($0) })).sorted()
        guard !failJob.isEmpty else { return nil }
        return PodFailurePolicy(rules: [
            PodFailurePolicyRule(
                action: "FailJob",
                onExitCodes: .init(containerName: Self.workerContainer, operator: "In", values: failJob))
        ])
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
        worker.resources = resourceRequirements(memoryBytes: plan.memoryBytes)
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
        labels[KubernetesLabels.attempt] = String(plan.attempt)
        if plan.isBackup { labels[KubernetesLabels.backup] = "true" }
        return PodTemplateSpec(
            metadata: ObjectMeta(labels: labels, annotations: options.annotations.isEmpty ? nil : options.annotations),
            spec: spec)
    }

    /// The worker's variables: its assignment (without the shard, which comes from the Job), then the plain
    /// variables of the options, then Secret references.
    private func workerEnvironment(_ plan: KubernetesJobPlan) throws -> [EnvVar] {
        var assignment = WorkerAssignment(
            runID: plan.runID, stateLocation: plan.stateLocation, stepName: plan.stepName, shard: 0,
            attempt: plan.attempt)
        assignment.concurrency = max(1, options.filesInFlight)
        assignment.runDigest = plan.runDigest
        assignment.isolation = plan.isolation
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

    private func resourceRequirements(memoryBytes: Int64?) -> ResourceRequirements? {
        var resources = options.resources
        if let memoryBytes { resources.memory = ResourceQuantity.describe(bytes: memoryBytes) }
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
