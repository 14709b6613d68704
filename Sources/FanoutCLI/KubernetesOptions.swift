import ArgumentParser
import Fanout
import Foundation

/// Flags for `--backend kubernetes`. Defaults come from `FANOUT_CONTEXT`, `FANOUT_NAMESPACE` and `FANOUT_IMAGE`.
struct KubernetesOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The kubeconfig file, as kubectl's --kubeconfig (default: KUBECONFIG, else ~/.kube/config).", valueName: "file"))
    var kubeconfig: String?

    @Option(help: ArgumentHelp("The kubeconfig context (default: FANOUT_CONTEXT, else the current one).", valueName: "name"))
    var context: String?

    @Option(help: ArgumentHelp("The namespace of the Jobs (default: FANOUT_NAMESPACE, else the context's).", valueName: "name"))
    var namespace: String?

    @Option(help: ArgumentHelp("The worker image; this binary is shipped into it through a presigned URL, so the image must carry the Swift runtime that built it (default: FANOUT_IMAGE, else \(WorkerImage.swiftRuntime), the official slim image of this build's Swift release). A binary built with --static-swift-stdlib needs only glibc, libcurl and libxml2.", valueName: "image"))
    var image: String?

    @Option(help: ArgumentHelp("CPU request per pod: 500m, 2.", valueName: "cpu"))
    var cpu: String?

    @Option(help: ArgumentHelp("Memory request and limit per pod: 512Mi, 4Gi. A shard whose pod is OOMKilled runs again with twice as much, up to --max-memory, using no retry.", valueName: "memory"))
    var memory: String?

    @Option(help: ArgumentHelp("The most memory a shard's pod is given after OOM kills (default: four times --memory). A pod OOMKilled at this much uses a retry.", valueName: "memory"))
    var maxMemory: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("GPUs per pod (nvidia.com/gpu).", valueName: "n"))
    var gpu: Int?

    @Option(help: ArgumentHelp("A fleet of clusters to run on (YAML or JSON; see docs/FLEET.md; default: FANOUT_FLEET). The run goes to the clusters that offer what it needs (--accelerator, --machine-type, --spot or --on-demand, --cluster-region, --zone, --cpu, --memory), split by their capacity and weight, and shards move away from a cluster whose pods stay Pending past --pending-timeout. A run no cluster can serve is refused before anything is created, naming the nearest offers.", valueName: "file"))
    var fleet: String?

    @Option(help: ArgumentHelp("With --fleet: the accelerator each pod needs, TYPE or TYPE:COUNT (nvidia-l4, nvidia-h100:8).", valueName: "type[:n]"))
    var accelerator: String?

    @Option(help: ArgumentHelp("With --fleet: the machine type pods must run on.", valueName: "type"))
    var machineType: String?

    @Flag(help: "With --fleet: only on-demand machines (--spot asks for spot ones).")
    var onDemand = false

    @Option(help: ArgumentHelp("With --fleet: a cluster region the run may use (repeatable; --region is the S3 one).", valueName: "region"))
    var clusterRegion: [String] = []

    @Option(help: ArgumentHelp("With --fleet: a zone the run may use (repeatable).", valueName: "zone"))
    var zone: [String] = []

    @Option(help: ArgumentHelp("Schedule only on nodes with this label (repeatable).", valueName: "key=value"))
    var nodeSelector: [String] = []

    @Option(help: ArgumentHelp("Tolerate a taint (repeatable): key=value:Effect, key:Effect or key.", valueName: "taint"))
    var toleration: [String] = []

    @Flag(help: "Tolerate the spot-node taints of GKE and AKS; spot preemptions never count against --retries.")
    var spot = false

    @Option(help: ArgumentHelp("Report pods Pending longer than this, with the scheduler's reason (default 5m). Then the run waits for them, unless --shrink-pending or --fail-pending says otherwise.", valueName: "duration"))
    var pendingTimeout: DurationText?

    @Option(help: ArgumentHelp("Each Job's deadline (activeDeadlineSeconds): its pods are stopped this long after it started, whatever happens to this process (default: none; \(FleetBackend.defaultJobDeadlineSeconds / 3600)h with --fleet, so that Jobs on a cluster the run dropped end on their own).", valueName: "duration"))
    var jobDeadline: DurationText?

    @Flag(help: "When pods stay Pending past --pending-timeout because no node takes them, lower the Job's parallelism to the pods that did find a node: the waiting pods are removed (no retry used) and their shards run as the others finish. The run is slower but finishes.")
    var shrinkPending = false

    @Flag(help: "Fail the run when pods stay Pending past --pending-timeout, deleting its Jobs.")
    var failPending = false

    @Flag(help: "When a pod cannot start (a --secret-env Secret that does not exist, an --image that cannot be pulled), report why and keep waiting for it to be fixed, instead of failing the run at once and deleting its Jobs.")
    var waitUnstartable = false

    @Flag(help: "A Job per shard, not one Indexed Job (for clusters older than 1.29 or without per-index back-off).")
    var jobPerShard = false

    @Option(help: ArgumentHelp("A Secret whose keys become the workers' environment, for object-store credentials (repeatable).", valueName: "secret"))
    var secretEnv: [String] = []

    @Option(help: ArgumentHelp("A plain environment variable of the workers (repeatable); never a credential.", valueName: "key=value"))
    var env: [String] = []

    @Option(help: ArgumentHelp("The workers' service account, for credentials from the cluster's workload identity (EKS IRSA: AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE; GKE Workload Identity) instead of --secret-env.", valueName: "name"))
    var serviceAccount: String?

    @Option(help: ArgumentHelp("A Secret to pull a private --image with (repeatable).", valueName: "secret"))
    var imagePullSecret: [String] = []

    @Option(help: ArgumentHelp("The user id, also the group id, the pods run as (default \(KubernetesBackend.Options.nonRootUser), a non-root user, so that they pass Pod Security's restricted level). Give the id an --image needs for its files; 0 runs as root, which a namespace enforcing restricted refuses.", valueName: "uid"))
    var runAsUser: Int?

    func validate() throws {
        if let cpu, !ResourceQuantity.isValid(cpu) {
            throw ValidationError("--cpu '\(cpu)' is not a quantity: write cores (2, 0.5) or millicores (500m)")
        }
        if let memory, !ResourceQuantity.isValid(memory) {
            throw ValidationError("--memory '\(memory)' is not a quantity: write 512Mi, 4Gi or a number of bytes")
        }
        if let maxMemory {
            guard let most = ResourceQuantity.value(maxMemory) else {
                throw ValidationError("--max-memory '\(maxMemory)' is not a quantity: write 512Mi, 4Gi or a number of bytes")
            }
            guard let memory, let first = ResourceQuantity.value(memory) else {
                throw ValidationError("--max-memory needs --memory: the memory a shard's pod starts with")
            }
            if most < first {
                throw ValidationError("--max-memory \(maxMemory) is less than --memory \(memory)")
            }
        }
        if let gpu, gpu < 0 { throw ValidationError("--gpu must be 0 or more") }
        if fleet == nil {
            let fleetOnly = [
                ("--accelerator", accelerator != nil), ("--machine-type", machineType != nil), ("--on-demand", onDemand),
                ("--cluster-region", !clusterRegion.isEmpty), ("--zone", !zone.isEmpty),
            ]
            if let (flag, _) = fleetOnly.first(where: \.1), ProcessInfo.processInfo.environment["FANOUT_FLEET"] == nil {
                throw ValidationError(
                    "\(flag) chooses among the clusters of a fleet: add --fleet FILE (on one cluster, use --gpu and "
                        + "--node-selector)")
            }
        }
        if spot && onDemand { throw ValidationError("--spot and --on-demand exclude each other") }
        if let accelerator, Self.parseAccelerator(accelerator) == nil {
            throw ValidationError("--accelerator takes TYPE or TYPE:COUNT (nvidia-l4, nvidia-h100:8), not '\(accelerator)'")
        }
        if let runAsUser, !(0...Int(Int32.max)).contains(runAsUser) {
            throw ValidationError("--run-as-user must be a user id from 0 to \(Int32.max)")
        }
        if shrinkPending && failPending {
            throw ValidationError(
                "--shrink-pending and --fail-pending exclude each other: choose one, or neither to wait")
        }
    }

    /// The fleet file to run on: `--fleet`, else `FANOUT_FLEET`.
    func fleetFile(environment: [String: String]) -> String? {
        fleet ?? environment["FANOUT_FLEET"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// What the run needs of a fleet's clusters.
    var fleetRequirements: FleetRequirements {
        let (type, count) = accelerator.flatMap(Self.parseAccelerator) ?? (nil, nil)
        return FleetRequirements(
            cpu: cpu.map(Self.cores),
            memory: memory, accelerator: type, acceleratorCount: count, machineType: machineType,
            spot: spot ? true : onDemand ? false : nil, regions: clusterRegion.isEmpty ? nil : clusterRegion,
            zones: zone.isEmpty ? nil : zone)
    }

    /// The run on the fleet `path` names, each cluster given these options.
    func fleetBackend(path: String, options: KubernetesBackend.Options) throws -> FleetBackend {
        try FleetBackend(fleet: try Fleet.load(contentsOf: path), requirements: fleetRequirements, options: options)
    }

    /// `nvidia-l4` or `nvidia-h100:8`.
    static func parseAccelerator(_ text: String) -> (String, Int?)? {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let type = parts.first, !type.isEmpty else { return nil }
        guard parts.count == 2 else { return (type, nil) }
        guard let count = Int(parts[1]), count >= 1 else { return nil }
        return (type, count)
    }

    /// Cores from a CPU quantity: `2` is 2, `500m` is 0.5.
    static func cores(_ text: String) -> Double {
        text.hasSuffix("m") ? (Double(text.dropLast()) ?? 0) / 1000 : Double(text) ?? 0
    }

    /// Wait (the default), shrink or fail.
    var pendingPolicy: KubernetesBackend.Options.PendingPolicy {
        shrinkPending ? .shrink : failPending ? .fail : .wait
    }

    func backend(
        parallelism: Int?, filesInFlight: Int?, environment: [String: String], arguments: [String]
    ) throws -> KubernetesBackend {
        var options = KubernetesBackend.Options()
        options.context = context ?? environment["FANOUT_CONTEXT"]
        options.kubeconfig = kubeconfig.map { [$0] }
        options.namespace = namespace ?? environment["FANOUT_NAMESPACE"]
        if let image = image ?? environment["FANOUT_IMAGE"] { options.image = image }
        options.mode = jobPerShard ? .jobPerShard : .indexed
        options.arguments = Self.podArguments(arguments)
        options.parallelism = parallelism
        if let filesInFlight { options.filesInFlight = filesInFlight }
        options.resources = .init(cpu: cpu, memory: memory, gpus: gpu)
        var selector: [String: String] = [:]
        for pair in nodeSelector {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw ValidationError("--node-selector takes key=value, not '\(pair)'")
            }
            selector[parts[0]] = parts[1]
        }
        var tolerations = try toleration.map(Self.parseToleration)
        if spot {
            tolerations.append(Toleration(key: "cloud.google.com/gke-spot", operator: "Equal", value: "true", effect: "NoSchedule"))
            tolerations.append(Toleration(key: "kubernetes.azure.com/scalesetpriority", operator: "Equal", value: "spot", effect: "NoSchedule"))
        }
        options.scheduling = .init(nodeSelector: selector, tolerations: tolerations)
        if let pendingTimeout { options.pendingTimeout = .seconds(pendingTimeout.seconds) }
        if let jobDeadline { options.activeDeadlineSeconds = max(1, jobDeadline.seconds) }
        options.pendingPolicy = pendingPolicy
        options.startFailurePolicy = waitUnstartable ? .wait : .fail
        options.secretEnvironment = secretEnv
        options.serviceAccountName = serviceAccount
        options.imagePullSecrets = imagePullSecret
        if let runAsUser { options.runAsUser = runAsUser }
        for pair in env {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else { throw ValidationError("--env takes key=value, not '\(pair)'") }
            options.environment[parts[0]] = parts[1]
        }
        return KubernetesBackend(options: options)
    }

    /// Flags naming files on this machine, which a pod has not got: its credentials come from the pod's own
    /// environment, and it never talks to the cluster.
    static let localFileFlags: Set<String> = [
        "--profile", "--kubeconfig", "--fleet", "--accelerator", "--machine-type", "--cluster-region", "--zone",
    ]
    /// Flags without a value that only choose where the run goes, which pods do not need either.
    static let localSwitches: Set<String> = ["--on-demand"]

    /// `arguments` (what workers are started with) without ``localFileFlags`` and their values.
    static func podArguments(_ arguments: [String]) -> [String] {
        var kept: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" {
                kept += arguments[index...]
                break
            }
            let name = String(argument.prefix { $0 != "=" })
            if localFileFlags.contains(name) {
                index += argument.contains("=") ? 1 : 2
                continue
            }
            if localSwitches.contains(argument) {
                index += 1
                continue
            }
            kept.append(argument)
            index += 1
        }
        return kept
    }

    /// `key=value:Effect`, `key:Effect`, or `key`.
    static func parseToleration(_ text: String) throws -> Toleration {
        var rest = Substring(text)
        var effect: String?
        if let colon = rest.lastIndex(of: ":") {
            effect = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
            guard ["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(effect!) else {
                throw ValidationError("--toleration effect must be NoSchedule, PreferNoSchedule or NoExecute, not '\(effect!)'")
            }
        }
        let parts = rest.split(separator: "=", maxSplits: 1).map(String.init)
        guard let key = parts.first, !key.isEmpty else { throw ValidationError("--toleration needs a key: '\(text)'") }
        if parts.count == 2 {
            return Toleration(key: key, operator: "Equal", value: parts[1], effect: effect)
        }
        return Toleration(key: key, operator: "Exists", effect: effect)
    }
}
