public import FanoutCore
import Foundation
import Synchronization
import FanoutStorage
public import Logging

/// Runs a run's shards as pods of a Kubernetes cluster: by default one Indexed Job whose completion index is
/// the shard, so the API load of a run does not grow with its files or shards.
///
/// ```swift
/// var options = KubernetesBackend.Options()
/// options.namespace = "batch"
/// options.secretEnvironment = ["s3-credentials"]   // AWS_ACCESS_KEY_ID... by reference
/// options.resources.cpu = "1"
/// let fanout = Fanout(options: RunOptions(backend: KubernetesBackend(options: options)))
/// let run = try await fanout.map(step, over: "s3://bucket/logs/")
/// ```
///
/// What a run does on the cluster:
/// - **Ship the program.** By default the driver's own executable is checked (a Linux ELF program; its
///   architecture becomes the pods' `kubernetes.io/arch`), uploaded once, content-addressed, to
///   `STATE/v1/bin/SHA256` beside the run state, and each pod's init container downloads it from a presigned
///   URL into an `emptyDir`; the worker container, whose image carries the matching Swift runtime
///   (``WorkerImage``), runs it with the driver's arguments and the worker environment. With
///   ``Options/shipExecutable`` `false` the image already holds the program and ``Options/command`` starts it.
/// - **Create the Jobs.** The run's scheduler launches attempts; each launch becomes Jobs. ``Options/Mode/indexed``
///   (the default): one Indexed Job per group of attempts that share their attempt number, memory and way of
///   running, its pods finding their shard in the Job's ``ShardList`` (up to ``Options/maxCompletionsPerJob``
///   shards a Job). The Job controller retries nothing (`backoffLimitPerIndex: 0`): each pod's end is its
///   attempt's, told apart (disrupted, OOM-killed, crashed, misconfigured, failed) so the scheduler can re-run the
///   shard in a new Job, with more memory after an OOM kill, or give up. Exits that mean the image cannot run the
///   program fail the whole Job (``Options/failJobExitCodes``). ``Options/Mode/jobPerShard``: one Job per shard.
/// - **Watch.** One watch on the run's Jobs and one on its pods (label `fanout.dev/run=RUN`), kept alive across
///   dropped streams and expired resourceVersions; no polling. Pods Pending for longer than
///   ``Options/pendingTimeout`` are reported with the scheduler's reason, and the run waits, shrinks its Jobs
///   to the pods the cluster could place, or fails (``Options/pendingPolicy``). A pod that cannot start (a
///   missing Secret, an image that cannot be pulled) is reported at once with what to do, and the run fails
///   unless told to wait (``Options/startFailurePolicy``). Failed pods are reported with their exit reason and
///   the last lines of their log, which become the attempt's reason.
/// - **Clean up.** Cancellation, or an error, deletes the run's Jobs (propagation `Background`) and waits until
///   none of its pods remain. Finished Jobs are left to `ttlSecondsAfterFinished`.
///
/// Workers read the input and write their results to the object store, so both must be reachable from the pods:
/// `s3://` locations with credentials passed by reference (``Options/secretEnvironment``). A run with a local
/// input or state prefix is refused before anything is shipped or created, unless
/// ``Options/podsShareLocalFiles``. No secret value is ever written into a manifest: ``Options/environment`` refuses
/// credential-looking names. The presigned URL of the executable is a time-limited capability for that one
/// object.
public struct KubernetesBackend: Backend {
    public var options: Options
    /// The API client; default: resolved as kubectl resolves one, with ``Options/context``.
    public var client: KubernetesClient?

    public init(options: Options = Options(), client: KubernetesClient? = nil) {
        self.options = options
        self.client = client
    }

    public var name: String { "kubernetes" }

    /// Pods run elsewhere: a run needs a state prefix they can reach, unless ``Options/podsShareLocalFiles``.
    public var needsSharedState: Bool { !options.podsShareLocalFiles }

    /// The namespace and kubeconfig context the run's Jobs go to, as resolved now.
    public var placement: [String: String] {
        let configuration = client?.configuration
            ?? (try? KubernetesConfiguration.resolve(
                kubeconfig: options.kubeconfig, context: options.context, namespace: options.namespace))
        var placement: [String: String] = [:]
        placement["namespace"] = options.namespace ?? configuration?.namespace
        placement["context"] = options.context ?? configuration?.contextName
        return placement
    }

    /// How runs are laid out on the cluster. Every field has a default.
    public struct Options: Sendable {
        /// One Indexed Job for the run, or one Job per shard.
        public enum Mode: String, Sendable, Hashable {
            /// One Indexed Job (or a few, past API limits); the shard is the completion index plus
            /// `FANOUT_WORKER_SHARD_OFFSET`.
            case indexed
            /// One plain Job per shard: more API objects, for clusters without Indexed Jobs' per-index back-off
            /// (older than 1.29, or with the `JobBackoffLimitPerIndex` feature off).
            case jobPerShard
        }

        /// What happens when pods stay Pending longer than ``pendingTimeout``.
        public enum PendingPolicy: String, Sendable, Hashable {
            /// Report them (log and event) and keep waiting.
            case wait
            /// Report them, delete the run's Jobs and throw ``KubernetesError/Code/podsPending``.
            case fail
            /// Report them and lower the Job's `spec.parallelism` to its pods on nodes (at least 1), so the
            /// scheduler stops waiting for capacity the cluster lacks: the Job controller deletes the pods no node
            /// took (no failure, no retry used) and runs their shards as the placed ones finish. One shrink per Job
            /// each time its pods stay unschedulable; the run is slower but finishes. Nothing shrinks in
            /// ``Mode/jobPerShard``, whose Jobs run one pod each.
            case shrink
        }

        /// What happens when a pod's container cannot start: a Secret, ConfigMap or key it names is missing
        /// (`CreateContainerConfigError`), its image cannot be pulled (`ErrImagePull`, `ImagePullBackOff`, after
        /// ``KubernetesRunTracker/pullTriesBeforeFailing`` tries unless the registry says the image is missing or
        /// not allowed) or is no valid name (`InvalidImageName`); or when the cluster refuses to create the pods
        /// for a reason waiting does not cure: Pod Security admission (``PodCreationFailure``).
        public enum StartFailurePolicy: String, Sendable, Hashable {
            /// Report it, with the Secret or image named and what to do, delete the run's Jobs and throw
            /// ``KubernetesError/Code/podsCannotStart``.
            case fail
            /// Report it and keep waiting: the pods start once the cause is fixed (the Secret created). Pods still
            /// waiting after ``pendingTimeout`` are reported again as Pending, and ``pendingPolicy`` applies.
            case wait
        }

        /// Compute resources of the worker container; each set value is both request and limit, except CPU,
        /// which is only requested unless ``cpuLimit`` is set.
        public struct Resources: Sendable, Hashable {
            /// CPU request (`500m`, `2`). Default `nil`.
            public var cpu: String?
            /// CPU limit. Default `nil`: none, so workers may burst.
            public var cpuLimit: String?
            /// Memory request and limit (`512Mi`, `4Gi`). Default `nil`.
            public var memory: String?
            /// Ephemeral storage request and limit (`10Gi`). Default `nil`.
            public var ephemeralStorage: String?
            /// `nvidia.com/gpu` limit. Default `nil`.
            public var gpus: Int?

            public init(
                cpu: String? = nil, cpuLimit: String? = nil, memory: String? = nil, ephemeralStorage: String? = nil,
                gpus: Int? = nil
            ) {
                self.cpu = cpu
                self.cpuLimit = cpuLimit
                self.memory = memory
                self.ephemeralStorage = ephemeralStorage
                self.gpus = gpus
            }
        }

        /// Where pods may run.
        public struct Scheduling: Sendable, Hashable {
            /// Node labels a node must have. Default empty.
            public var nodeSelector: [String: String]
            /// Taints the pods tolerate. Default none.
            public var tolerations: [Toleration]
            /// The pod's `affinity`, passed through as written. Default `nil`.
            public var affinity: JSONValue?
            /// Default `nil`: the cluster's default priority.
            public var priorityClassName: String?

            public init(
                nodeSelector: [String: String] = [:], tolerations: [Toleration] = [], affinity: JSONValue? = nil,
                priorityClassName: String? = nil
            ) {
                self.nodeSelector = nodeSelector
                self.tolerations = tolerations
                self.affinity = affinity
                self.priorityClassName = priorityClassName
            }
        }

        /// The namespace of the Jobs. Default `nil`: the kubeconfig context's (or `default`).
        public var namespace: String?
        /// The kubeconfig context, when the backend resolves its own client. Default `nil`: the current one.
        public var context: String?
        /// The kubeconfig files to read, as kubectl's `--kubeconfig`, when the backend resolves its own client.
        /// Default `nil`: `KUBECONFIG`'s files, else `~/.kube/config`, else the in-cluster service account.
        public var kubeconfig: [String]?
        /// The worker container's image. Default ``WorkerImage/swiftRuntime`` (`swift:6.3.1-noble-slim` for a
        /// build by Swift 6.3.1): the Swift runtime, Foundation and libcurl that a shipped executable loads. An
        /// image of your own must carry the same, or the shipped executable must be built with
        /// `--static-swift-stdlib` (then glibc, libcurl and libxml2 suffice) or be fully static.
        public var image: String
        /// Default ``Mode/indexed``.
        public var mode: Mode
        /// Pods running at once across the run. Default `nil`: one per shard, up to 1,000.
        public var parallelism: Int?
        /// Files in flight within each worker (`FANOUT_WORKER_CONCURRENCY`). Default 4.
        public var filesInFlight: Int
        /// Exit codes of the worker that fail its shard at once, without retries (the attempt ends as
        /// misconfigured). Default `[2]`: ``WorkerExit/misconfigured``, which a worker returns when no attempt
        /// could succeed. Other failures (``WorkerExit/failed``, killed: 137) use the run's retries; crashes
        /// (128 + a fatal signal) isolate the shard's files; `OOMKilled` raises its memory.
        public var failIndexExitCodes: [Int32]
        /// Exit codes of the worker container that fail every shard of its Job at once (`FailJob`), because the
        /// image cannot run the program at all. Default `[127, 128]`: the dynamic loader's "error while loading
        /// shared libraries" (a missing Swift runtime or libcurl), and the container runtime's `StartError` (no
        /// such file, wrong architecture, a loader the image lacks). An empty list disables the rule.
        public var failJobExitCodes: [Int32]
        /// Seconds a finished Job is kept before the cluster deletes it. Default 3600.
        public var ttlSecondsAfterFinished: Int?
        /// A deadline for each Job, in seconds from its start. Default `nil`: none.
        public var activeDeadlineSeconds: Int?
        /// Shards per Indexed Job; larger plans are split into several Jobs. Default 100,000, the API's
        /// limit on completions of an Indexed Job.
        public var maxCompletionsPerJob: Int
        public var resources: Resources
        public var scheduling: Scheduling
        /// Default `nil`: the namespace's `default` service account.
        public var serviceAccountName: String?
        /// The user id, and group id, every container of the pods runs as. Default ``nonRootUser`` (65532): with
        /// it, privilege escalation off, every capability dropped and the `RuntimeDefault` seccomp filter (always
        /// set), the pods pass Pod Security's `restricted` level. An image whose files belong to another user
        /// needs that user's id; 0 runs as root, which a namespace enforcing `restricted` refuses (the run then
        /// fails with ``KubernetesError/Code/podsCannotStart``). `nil`: each image's own user, not checked to be
        /// non-root.
        public var runAsUser: Int?
        /// Extra labels of the Jobs and pods; `fanout.dev/run` is always set. Default empty.
        public var labels: [String: String]
        /// Extra annotations of the Jobs and pods. Default empty.
        public var annotations: [String: String]
        /// Plain environment variables of the worker (`AWS_REGION`, `AWS_ENDPOINT_URL`). Credentials are refused
        /// here: pass them by reference with ``secretEnvironment`` or ``secretKeyEnvironment``. Default empty.
        public var environment: [String: String]
        /// Secrets whose every key becomes an environment variable of the worker (`envFrom`), for object-store
        /// credentials. Default none.
        public var secretEnvironment: [String]
        /// Single variables taken from Secrets: name to (secret, key). Default none.
        public var secretKeyEnvironment: [String: SecretKey]
        /// Secrets for pulling private images. Default none.
        public var imagePullSecrets: [String]
        /// Whether the pods read this machine's files at the same paths (a test cluster whose pods are local
        /// processes): only then may the input and state prefix be local folders. Default `false`: both must be
        /// `s3://`.
        public var podsShareLocalFiles: Bool
        /// Upload this process's executable and have pods download it. Default `true`; `false` needs
        /// ``command``.
        public var shipExecutable: Bool
        /// The executable to ship. Default: this process's own.
        public var executable: String
        /// Arguments of the worker. Default: this process's own, so the program reaches the same step.
        public var arguments: [String]
        /// The program to run when ``shipExecutable`` is `false`: the image's path to it, and any arguments
        /// before ``arguments``. Default `nil`.
        public var command: [String]?
        /// The image of the init container that downloads the executable; it needs `sh`, `curl` and
        /// `sha256sum`. Default ``WorkerImage/downloader`` (`curlimages/curl:8.11.1`).
        public var downloaderImage: String
        /// How long the executable's presigned URL is valid: pods started later (retries) cannot download it.
        /// Default 24 hours (S3 allows at most 7 days). A URL signed with temporary credentials (SSO, an assumed
        /// role, a web identity: a session token) stops working when their session ends, however long this is;
        /// the run then says so in a notice.
        public var executableURLLifetime: Duration
        /// How long a pod may stay Pending, or a Job go without any pod (the cluster refuses them), before it is
        /// reported. Default 5 minutes.
        public var pendingTimeout: Duration
        /// Default ``PendingPolicy/wait``.
        public var pendingPolicy: PendingPolicy
        /// Default ``StartFailurePolicy/fail``.
        public var startFailurePolicy: StartFailurePolicy
        /// Log lines fetched from each failed pod. Default 20.
        public var logTailLines: Int
        /// How long cancellation waits for the run's pods to be gone. Default 2 minutes.
        public var cleanupTimeout: Duration
        /// Where the backend logs pods that fail or wait. Default: a logger labelled `fanout.kubernetes`.
        public var logger: Logger

        /// The user pods run as by default: 65532, the `nonroot` user of distroless images, which no common image
        /// gives a home or files to. The pods need none: the executable goes into an `emptyDir`, temporary files
        /// into `/tmp`.
        public static let nonRootUser = 65532

        /// A variable taken from a key of a Secret.
        public struct SecretKey: Sendable, Hashable {
            public var secret: String
            public var key: String

            public init(secret: String, key: String) {
                self.secret = secret
                self.key = key
            }
        }

        public init() {
            image = WorkerImage.swiftRuntime
            mode = .indexed
            filesInFlight = 4
            failIndexExitCodes = [WorkerExit.misconfigured]
            failJobExitCodes = [127, 128]
            ttlSecondsAfterFinished = 3600
            maxCompletionsPerJob = 100_000
            resources = Resources()
            scheduling = Scheduling()
            labels = [:]
            annotations = [:]
            environment = [:]
            secretEnvironment = []
            secretKeyEnvironment = [:]
            imagePullSecrets = []
            runAsUser = Self.nonRootUser
            podsShareLocalFiles = false
            shipExecutable = true
            executable = ProcessBackend.currentExecutable
            arguments = Array(CommandLine.arguments.dropFirst())
            downloaderImage = WorkerImage.downloader
            executableURLLifetime = .seconds(24 * 3600)
            pendingTimeout = .seconds(300)
            pendingPolicy = .wait
            startFailurePolicy = .fail
            logTailLines = 20
            cleanupTimeout = .seconds(120)
            logger = Logger(label: "fanout.kubernetes")
        }
    }

    /// The `kubernetes.io/arch` of nodes that can run the executable this backend ships, read from its headers;
    /// `nil` when the image holds the program instead.
    /// - Throws: ``KubernetesError`` when the executable is not a Linux program.
    public func shippedExecutableArchitecture() throws -> String? {
        guard options.shipExecutable else { return nil }
        return try LinuxExecutable(path: options.executable).architecture
    }

    /// Pods run side by side (a backup is a small Job of its own), as many as the cluster takes: the scheduler
    /// launches every shard at once and each Job's `parallelism` paces its pods. Launches are batched: the re-runs of
    /// a moment (pods failed or preempted together) go into one Job. When ``Options/resources`` sets
    /// memory, each attempt can run with its own (raised after an OOM kill).
    public var capabilities: BackendCapabilities {
        BackendCapabilities(
            slots: 1_000_000, runsAttemptsSideBySide: true,
            memoryBytes: options.resources.memory.flatMap(ResourceQuantity.value), batchesLaunches: true)
    }

    /// Makes each launch the scheduler asks for into Jobs, and reports every attempt's pod as it runs and ends; a
    /// cancel deletes the attempts' pods (or their Jobs). Cancellation, or an error, deletes the run's Jobs and
    /// waits until their pods are gone.
    public func serve(_ submission: Submission, attempts: AttemptQueue) async throws -> BackendReport {
        try checkReachable(submission)
        let base =
            try client
            ?? KubernetesClient(kubeconfig: options.kubeconfig, context: options.context, namespace: options.namespace)
        let counter = RequestCounter()
        let client = base.counting(into: counter)
        let session = KubernetesRunSession(
            options: options, client: client, namespace: options.namespace ?? client.namespace,
            submission: submission, queue: attempts)
        do {
            try await session.serve()
            submission.report(.backend(KubernetesBackendEvent.finished(
                failedShards: session.failedShards, apiRequests: counter.total)))
            return BackendReport(apiRequests: counter.total)
        } catch {
            // Cancelled or failed: nothing of the run may stay behind. The clean-up runs in a task of its own,
            // which this task's cancellation does not reach.
            attempts.finish()
            let cleanup = Task { await session.cleanUp(reason: error is CancellationError ? "cancelled" : "failed") }
            await cleanup.value
            throw error
        }
    }
}

extension KubernetesBackend {
    /// Refuses a run whose input or state prefix pods cannot read: a local folder, unless
    /// ``Options/podsShareLocalFiles``.
    func checkReachable(_ submission: Submission) throws {
        try checkReachable(input: submission.inputLocationDescription, state: submission.stateLocation)
    }

    func checkReachable(input: String, state: String) throws {
        guard !options.podsShareLocalFiles else { return }
        let locations = [("input", input), ("state", state)]
        let remote = { (text: String) in ObjectStores.schemes.contains { text.hasPrefix($0 + "://") } }
        guard let (what, location) = locations.first(where: { !remote($0.1) }) else { return }
        throw KubernetesError(
            code: .invalidConfiguration,
            message: "the \(what) \(location) is on this machine, where pods cannot read it",
            hint: "Use an s3:// or gs:// input and --state s3://BUCKET/PREFIX/ (or gs://) with --backend kubernetes, "
                + "or run with --backend local or --backend processes.")
    }
}

/// What happens to a run on the cluster, as the caller hears it through `RunOptions.onEvent`, in
/// ``FanoutCore/RunEvent/backend(_:)``.
public enum KubernetesBackendEvent: BackendDetail, Hashable {
    /// The executable is in the state store under `key`; `uploaded` is false when it was there already.
    case executableShipped(key: String, bytes: Int64, uploaded: Bool)
    /// The run's Jobs were created.
    case jobsCreated(names: [String])
    /// Jobs an earlier execution of the run started, still running, are followed instead of new ones.
    case jobsAdopted(names: [String])
    /// A pod has been Pending for `waited`; `message` is the scheduler's reason when it gave one.
    case podPending(pod: String, shard: Int?, waited: Duration, message: String)
    /// A pod's container cannot start: a missing Secret, ConfigMap or key, an image that cannot be pulled or
    /// named. Reported once per distinct reason and message, as soon as the pod's status shows it.
    case podCannotStart(PodStartFailure)
    /// A Job has had no pod at all for `waited`: the cluster refuses to create them (a ResourceQuota, Pod Security
    /// admission), as the Job's `FailedCreate` events say.
    case jobCreatedNoPods(name: String, waited: Duration)
    /// The cluster refuses to create a Job's pods, as its `FailedCreate` events say (read when the Job has had no
    /// pod for a few seconds). Reported once per distinct reason.
    case podsRefused(PodCreationFailure)
    /// A pod failed: its exit reason and the last lines of its log.
    case podFailed(pod: String, shard: Int?, reason: String, logTail: String)
    /// A pod was disrupted (preempted, evicted, drained); this does not count against retries.
    case podDisrupted(pod: String, shard: Int?, reason: String)
    /// A Job's pods could not be scheduled, and its parallelism was lowered to `parallelism`
    /// (``KubernetesBackend/Options/PendingPolicy/shrink``).
    case shrunk(job: String, parallelism: Int)
    /// A Job finished; `reason` says why it failed.
    case jobFinished(name: String, succeeded: Bool, reason: String?)
    /// Every Job finished: the shards that failed for good, and the API requests the run made.
    case finished(failedShards: [Int], apiRequests: Int)
    /// After cancellation or failure: the Jobs were deleted and `remainingPods` pods were still there when
    /// the wait ended (0 unless the clean-up timed out).
    case cleanedUp(reason: String, remainingPods: Int)
}

extension KubernetesBackendEvent {
    public var description: String {
        switch self {
        case .executableShipped(let key, let bytes, let uploaded):
            "executable \(uploaded ? "uploaded to" : "already at") \(key) (\(bytes) bytes)"
        case .jobsCreated(let names): "created \(names.joined(separator: ", "))"
        case .jobsAdopted(let names): "following \(names.joined(separator: ", "))"
        case .podPending(let pod, _, let waited, let message): "pod \(pod) Pending for \(waited): \(message)"
        case .podCannotStart(let failure): failure.description
        case .jobCreatedNoPods(let name, let waited): "Job \(name) has created no pods in \(waited)"
        case .podsRefused(let failure): failure.description
        case .podFailed(let pod, _, let reason, _): "pod \(pod) failed: \(reason)"
        case .podDisrupted(let pod, _, let reason): "pod \(pod) disrupted: \(reason)"
        case .shrunk(let job, let parallelism): "Job \(job) shrunk to parallelism \(parallelism)"
        case .jobFinished(let name, let succeeded, let reason):
            "Job \(name) " + (succeeded ? "succeeded" : "failed" + (reason.map { ": \($0)" } ?? ""))
        case .finished(let failed, let requests): "finished: \(failed.count) shards failed, \(requests) API requests"
        case .cleanedUp(let reason, let remaining): "cleaned up (\(reason)), \(remaining) pods left"
        }
    }
}
