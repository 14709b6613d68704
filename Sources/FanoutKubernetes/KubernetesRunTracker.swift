import Foundation

/// What the backend knows of a run's Jobs and pods, updated from watch events: which shards are done or failed
/// for good, which pods failed (and need their logs read), which wait too long and what to do about it. A pure
/// state machine: events in, actions out; the session performs the actions.
struct KubernetesRunTracker: Sendable {
    /// Something the session must do.
    enum Action: Sendable, Equatable {
        /// Read the log of a failed pod's container and record the failure for the shard.
        case fetchLogs(pod: String, container: String, shard: Int?, reason: String)
        case disrupted(pod: String, shard: Int?, reason: String)
        case pending(pod: String, shard: Int?, waited: Duration, message: String)
        /// A Job has had no pod at all for `waited`: the cluster refuses to create them (a ResourceQuota, Pod
        /// Security admission, an admission webhook), which only the Job's events tell.
        case noPods(job: String, waited: Duration)
        /// Lower the Job's `spec.parallelism` to what the cluster runs (pods Pending too long, with the shrink
        /// policy).
        case shrink(job: String, parallelism: Int)
        case jobFinished(name: String, succeeded: Bool, reason: String?)
        /// Stop the run with this message and hint (pods Pending too long, or none created, with the fail policy).
        case abort(String, hint: String? = nil)
        /// A pod's container cannot start (a missing Secret, an image that cannot be pulled): report it, once per
        /// distinct reason and message.
        case cannotStart(PodStartFailure)
        /// Stop the run: a pod cannot start, and the start-failure policy is to fail.
        case abortCannotStart(PodStartFailure)
        /// Read the `FailedCreate` events of these Jobs, which have had no pod for a while: why the cluster refuses
        /// their pods.
        case readCreationFailures(jobs: [String])
        /// The cluster refuses a Job's pods: report it, once per distinct reason.
        case cannotCreate(PodCreationFailure)
        /// Stop the run: the cluster refuses the pods for a reason waiting does not cure (Pod Security admission),
        /// and the start-failure policy is to fail.
        case abortCannotCreate(PodCreationFailure)
    }

    struct JobRecord: Sendable {
        let name: String
        /// The shards the Job runs: for Indexed Jobs, shard = offset + completion index.
        let shards: ClosedRange<Int>
        let indexed: Bool
        /// The Job's `spec.parallelism`: pods it runs at once.
        var parallelism: Int
        /// Whether the Job was shrunk since its pods last all found a node: one shrink per such episode.
        var shrunkWhileUnschedulable = false
        var completed = Set<Int>()
        var failed = Set<Int>()
        var finished = false
        var failureReason: String?
        /// When the tracker learnt of the Job.
        let since: ContinuousClock.Instant
        /// Whether the Job has had a pod, as its pods or its status counts show.
        var hadPods = false
        var noPodsReported = false
    }

    struct PodRecord: Sendable {
        let name: String
        var shard: Int?
        var phase: String
        /// Whether the scheduler has placed the pod on a node.
        var scheduled = false
        var firstSeen: ContinuousClock.Instant
        var pendingReported = false
        var failureHandled = false
        var schedulerMessage: String?
        /// Where the pod's containers are in starting: creating them, or a reason they cannot start.
        var start = StartState.starting
    }

    /// A pod's progress towards running its containers, as their waiting reasons show.
    enum StartState: Sendable, Hashable {
        /// No reason to think the containers cannot start.
        case starting
        /// Image pulls failed `tries` times (each `ErrImagePull`, or a back-off seen without it); `last` is the
        /// waiting reason seen last, so a try is counted once.
        case pulling(tries: Int, last: String)
        /// The pod cannot start, and this was reported.
        case cannotStart(PodStartFailure)
    }

    /// Image pull failures of one pod after which it is taken as unable to start (unless the registry says at once
    /// that the image is missing or not allowed): the kubelet tries again after 10 s, 20 s..., so this is about half
    /// a minute on a real cluster.
    static let pullTriesBeforeFailing = 3

    private(set) var jobs: [String: JobRecord] = [:]
    private(set) var pods: [String: PodRecord] = [:]
    /// The last failure of each shard: exit reason and log lines.
    private(set) var failureDetails: [Int: String] = [:]
    /// Shards whose failure details are being fetched.
    private var fetching = Set<Int>()
    let pendingTimeout: Duration
    let pendingPolicy: KubernetesBackend.Options.PendingPolicy
    let startFailurePolicy: KubernetesBackend.Options.StartFailurePolicy
    /// Start failures already reported, by reason and message: many pods failing for one cause make one report.
    private var reportedStartFailures = Set<String>()
    /// Whether the run has been told to stop: one abort per run.
    var aborted = false
    /// Whether the pod watch has listed the run's pods: only then does a Job without pods lack them.
    var podsListed = false
    /// When the events of Jobs without pods may be read again, and how long to wait after that read.
    var nextCreationRead: ContinuousClock.Instant?
    var creationReadInterval = Self.creationReadDelay
    /// Whether the Jobs' events cannot be read (no permission): then only the Pending watchdog reports them.
    var creationReadsStopped = false
    /// Creation failures already reported, by reason.
    var reportedCreationFailures = Set<String>()

    /// - Parameter now: when the Jobs were created or adopted, from which a Job without pods waits.
    init(
        jobs: [Job], pendingTimeout: Duration, pendingPolicy: KubernetesBackend.Options.PendingPolicy,
        startFailurePolicy: KubernetesBackend.Options.StartFailurePolicy = .fail, now: ContinuousClock.Instant = .now
    ) {
        self.pendingTimeout = pendingTimeout
        self.pendingPolicy = pendingPolicy
        self.startFailurePolicy = startFailurePolicy
        for job in jobs {
            guard let name = job.metadata.name, let record = Self.record(for: job, name: name, now: now) else {
                continue
            }
            self.jobs[name] = record
        }
    }

    private static func record(for job: Job, name: String, now: ContinuousClock.Instant) -> JobRecord? {
        let template = job.spec?.template.metadata?.labels ?? [:]
        let parallelism = job.spec?.parallelism ?? 1
        if job.spec?.completionMode == "Indexed" {
            guard let offset = template[KubernetesLabels.shardOffset].flatMap(Int.init) else { return nil }
            let count = max(1, job.spec?.completions ?? 1)
            return JobRecord(
                name: name, shards: offset...(offset + count - 1), indexed: true, parallelism: parallelism,
                since: now, hadPods: job.status?.hasHadPods ?? false)
        }
        guard let shard = template[KubernetesLabels.shard].flatMap(Int.init) else { return nil }
        return JobRecord(
            name: name, shards: shard...shard, indexed: false, parallelism: parallelism, since: now,
            hadPods: job.status?.hasHadPods ?? false)
    }

    /// Whether every Job has finished.
    var allJobsFinished: Bool { jobs.values.allSatisfy(\.finished) }

    /// Pods running and pods waiting to run.
    struct PodCounts: Sendable, Hashable {
        var running: Int
        var pending: Int
    }

    var podCounts: PodCounts {
        PodCounts(
            running: pods.values.filter { $0.phase == "Running" }.count,
            pending: pods.values.filter { $0.phase == "Pending" }.count)
    }

    /// Pods that are neither Succeeded nor Failed.
    var livePods: Int { pods.values.filter { $0.phase != "Succeeded" && $0.phase != "Failed" }.count }

    /// Whether a failed shard's details are still on their way (a failed pod not handled yet, or logs being read).
    var awaitingFailureDetails: Bool {
        if !fetching.isEmpty { return true }
        let failedShards = jobs.values.flatMap(\.failed)
        return failedShards.contains { shard in
            failureDetails[shard] == nil && pods.values.contains { $0.shard == shard && !$0.failureHandled }
        }
    }

    // MARK: - Jobs

    mutating func jobsSynced(_ listed: [Job]) -> [Action] {
        let names = Set(listed.compactMap(\.metadata.name))
        var actions: [Action] = []
        for job in listed { actions += jobChanged(job) }
        for name in jobs.keys where !names.contains(name) && !jobs[name]!.finished {
            actions += markDeleted(name)
        }
        return actions
    }

    mutating func jobChanged(_ job: Job) -> [Action] {
        guard let name = job.metadata.name, var record = jobs[name], !record.finished else { return [] }
        if let parallelism = job.spec?.parallelism { record.parallelism = parallelism }
        if job.status?.hasHadPods == true { record.hadPods = true }
        if record.indexed {
            let offset = record.shards.lowerBound
            record.completed = Set(CompletionIndexes.parse(job.status?.completedIndexes).map { $0 + offset })
            record.failed = Set(CompletionIndexes.parse(job.status?.failedIndexes).map { $0 + offset })
        } else if job.succeeded {
            record.completed = [record.shards.lowerBound]
        }
        var actions: [Action] = []
        if job.succeeded {
            record.finished = true
            actions.append(.jobFinished(name: name, succeeded: true, reason: nil))
        } else if let failed = job.failedCondition {
            record.finished = true
            let reason = [failed.reason, failed.message].compactMap { $0 }.joined(separator: ": ")
            record.failureReason = "Job \(name) failed" + (reason.isEmpty ? "" : ": \(reason)")
            // Whatever did not complete has failed.
            record.failed = Set(record.shards).subtracting(record.completed)
            actions.append(.jobFinished(name: name, succeeded: false, reason: reason))
        }
        jobs[name] = record
        return actions
    }

    mutating func jobDeleted(_ job: Job) -> [Action] {
        guard let name = job.metadata.name, let record = jobs[name], !record.finished else { return [] }
        return markDeleted(name)
    }

    private mutating func markDeleted(_ name: String) -> [Action] {
        guard var record = jobs[name] else { return [] }
        record.finished = true
        record.failureReason = "Job \(name) was deleted before it finished"
        record.failed = Set(record.shards).subtracting(record.completed)
        jobs[name] = record
        return [.jobFinished(name: name, succeeded: false, reason: "deleted")]
    }

    // MARK: - Pods

    mutating func podsSynced(_ listed: [Pod], now: ContinuousClock.Instant) -> [Action] {
        let names = Set(listed.compactMap(\.metadata.name))
        for name in pods.keys where !names.contains(name) { pods[name] = nil }
        podsListed = true
        return listed.flatMap { podChanged($0, now: now) }
    }

    mutating func podChanged(_ pod: Pod, now: ContinuousClock.Instant) -> [Action] {
        guard let name = pod.metadata.name else { return [] }
        if pods[name] == nil, let job = job(running: shard(of: pod)) { jobs[job]?.hadPods = true }
        var record = pods[name] ?? PodRecord(name: name, shard: shard(of: pod), phase: pod.phase, firstSeen: now)
        record.phase = pod.phase
        record.scheduled = pod.spec?.nodeName != nil || pod.condition("PodScheduled") != nil
        record.schedulerMessage =
            pod.condition("PodScheduled", status: "False").map { condition in
                condition.message ?? condition.reason ?? "unschedulable"
            } ?? Self.waitingMessage(pod)
        var actions: [Action] = []
        if pod.phase == "Pending" || pod.phase == "Running" { actions += checkStart(pod, record: &record) }
        if pod.phase == "Failed", !record.failureHandled {
            record.failureHandled = true
            if let disruption = pod.condition("DisruptionTarget") {
                let reason = [disruption.reason, disruption.message].compactMap { $0 }.joined(separator: ": ")
                actions.append(.disrupted(pod: name, shard: record.shard, reason: reason))
            } else {
                let (container, reason) = Self.failure(of: pod)
                if let shard = record.shard { fetching.insert(shard) }
                actions.append(.fetchLogs(pod: name, container: container, shard: record.shard, reason: reason))
            }
        }
        pods[name] = record
        return actions
    }

    mutating func podDeleted(_ pod: Pod) {
        guard let name = pod.metadata.name else { return }
        pods[name] = nil
    }

    /// Records what a failed pod left: its reason and log lines.
    mutating func recordFailure(shard: Int?, detail: String) {
        guard let shard else { return }
        failureDetails[shard] = detail
        fetching.remove(shard)
    }

    /// Follows a live pod's containers' waiting reasons: a reason that waiting does not cure, or image pulls that
    /// failed a few times, is reported once per distinct cause and, with the fail policy, stops the run.
    private mutating func checkStart(_ pod: Pod, record: inout PodRecord) -> [Action] {
        if case .cannotStart = record.start { return [] }
        guard let (status, waiting) = Self.waitingContainers(pod).first(where: { _, waiting in
            PodStartFailure.immediateReasons.contains(waiting.reason ?? "")
                || PodStartFailure.pullReasons.contains(waiting.reason ?? "")
        }), let reason = waiting.reason
        else { return [] }
        let failure = PodStartFailure(
            pod: record.name, shard: record.shard, container: status.name, reason: reason,
            message: waiting.message ?? "", image: status.image)
        if PodStartFailure.pullReasons.contains(reason) {
            var tries = 0
            var last = ""
            if case .pulling(let before, let seen) = record.start { (tries, last) = (before, seen) }
            // ErrImagePull is a try; a back-off is one only when the try itself went unseen.
            if reason != last, reason != "ImagePullBackOff" || last != "ErrImagePull" { tries += 1 }
            record.start = .pulling(tries: tries, last: reason)
            guard tries >= Self.pullTriesBeforeFailing || failure.isDefinitivePullError else { return [] }
        }
        record.start = .cannotStart(failure)
        var actions: [Action] = []
        if reportedStartFailures.insert("\(failure.reason)|\(failure.message)").inserted {
            actions.append(.cannotStart(failure))
        }
        if startFailurePolicy == .fail, !aborted {
            aborted = true
            actions.append(.abortCannotStart(failure))
        }
        return actions
    }

    /// Pods Pending longer than the timeout, and Jobs without any pod for that long, each reported once; with the
    /// fail policy, an abort; with the shrink policy, the Jobs whose pods the scheduler cannot place lowered to the
    /// pods it has placed.
    mutating func checkPending(now: ContinuousClock.Instant) -> [Action] {
        let withoutPods = jobsWithoutPods(now: now)
        var pending: [Action] = []
        for (name, record) in pods where record.phase == "Pending" && !record.pendingReported {
            let waited = now - record.firstSeen
            guard waited >= pendingTimeout else { continue }
            pods[name]!.pendingReported = true
            pending.append(
                .pending(
                    pod: name, shard: record.shard, waited: waited,
                    message: record.schedulerMessage ?? "the pod is Pending"))
        }
        var actions = creationReads(now: now) + withoutPods + pending
        if pendingPolicy == .fail, !aborted {
            if case .noPods(let job, let waited)? = withoutPods.first {
                aborted = true
                actions.append(
                    .abort(
                        "Job \(job) has created no pods in \(Int(waited.components.seconds)) s: the cluster refuses "
                            + "them", hint: Self.noPodsAdvice(job: job)))
            } else if case .pending(let pod, _, let waited, let message)? = pending.first {
                aborted = true
                actions.append(
                    .abort("pod \(pod) has been Pending for \(Int(waited.components.seconds)) s: \(message)"))
            }
        }
        if pendingPolicy == .shrink { actions += shrinkJobs(now: now) }
        return actions
    }

    /// What a person can do about a Job without pods.
    static func noPodsAdvice(job: String) -> String {
        "Run kubectl describe job \(job): its FailedCreate events say why (a ResourceQuota, Pod Security admission, "
            + "an admission webhook)."
    }

    /// Unfinished Jobs that have had no pod at all for longer than the timeout, each reported once.
    private mutating func jobsWithoutPods(now: ContinuousClock.Instant) -> [Action] {
        guard podsListed else { return [] }
        var actions: [Action] = []
        for name in jobs.keys.sorted() {
            guard let record = jobs[name], !record.finished, !record.hadPods, !record.noPodsReported else { continue }
            let waited = now - record.since
            guard waited >= pendingTimeout else { continue }
            jobs[name]!.noPodsReported = true
            actions.append(.noPods(job: name, waited: waited))
        }
        return actions
    }

    /// For each Job with a pod the scheduler has not placed for longer than the timeout: its parallelism lowered
    /// to its pods on nodes (at least 1), once until all its pods have found a node again.
    private mutating func shrinkJobs(now: ContinuousClock.Instant) -> [Action] {
        var placed: [String: Int] = [:]
        var unplaced = Set<String>()
        var stuck = Set<String>()
        for record in pods.values where record.phase == "Pending" || record.phase == "Running" {
            guard let job = job(running: record.shard) else { continue }
            if record.scheduled {
                placed[job, default: 0] += 1
            } else {
                unplaced.insert(job)
                if now - record.firstSeen >= pendingTimeout { stuck.insert(job) }
            }
        }
        var actions: [Action] = []
        for name in jobs.keys.sorted() {
            guard var record = jobs[name], !record.finished else { continue }
            if !unplaced.contains(name) { record.shrunkWhileUnschedulable = false }
            let target = max(1, placed[name] ?? 0)
            if stuck.contains(name), !record.shrunkWhileUnschedulable, target < record.parallelism {
                record.shrunkWhileUnschedulable = true
                record.parallelism = target
                actions.append(.shrink(job: name, parallelism: target))
            }
            jobs[name] = record
        }
        return actions
    }

    /// The Job that runs a shard.
    private func job(running shard: Int?) -> String? {
        guard let shard else { return nil }
        return jobs.values.first { $0.shards.contains(shard) }?.name
    }

    // MARK: - Report

    /// The shards that failed for good, with the best reason known: the last failed pod's exit reason and log,
    /// else the Job's failure.
    func failedShards(among requested: Set<Int>) -> [Int: String] {
        var failed: [Int: String] = [:]
        for record in jobs.values {
            for shard in record.failed.subtracting(record.completed) where requested.contains(shard) {
                failed[shard] = failureDetails[shard] ?? record.failureReason ?? "shard \(shard) failed on Kubernetes"
            }
        }
        return failed
    }

    // MARK: - Pod facts

    private func shard(of pod: Pod) -> Int? { pod.fanoutShard }

    /// Why a Pending pod's container has not started (`ImagePullBackOff: ...`), if it says.
    private static func waitingMessage(_ pod: Pod) -> String? {
        guard let (_, waiting) = waitingContainers(pod).first, let reason = waiting.reason else { return nil }
        return [reason, waiting.message].compactMap { $0 }.joined(separator: ": ")
    }

    /// The containers, init containers first, that wait for a reason other than being created.
    private static func waitingContainers(_ pod: Pod) -> [(ContainerStatus, ContainerState.Waiting)] {
        let statuses = (pod.status?.initContainerStatuses ?? []) + (pod.status?.containerStatuses ?? [])
        return statuses.compactMap { status in
            guard let waiting = status.state?.waiting, let reason = waiting.reason, reason != "ContainerCreating",
                reason != "PodInitializing"
            else { return nil }
            return (status, waiting)
        }
    }

    /// The container that failed and why: an init container that exited non-zero, else the worker.
    static func failure(of pod: Pod) -> (container: String, reason: String) {
        for status in pod.status?.initContainerStatuses ?? [] {
            if let terminated = status.state?.terminated, terminated.exitCode != 0 {
                return (status.name, describe(terminated, container: status.name))
            }
        }
        for status in pod.status?.containerStatuses ?? [] {
            if let terminated = status.state?.terminated, terminated.exitCode != 0 {
                return (status.name, describe(terminated, container: status.name))
            }
        }
        let reason = [pod.status?.reason, pod.status?.message].compactMap { $0 }.joined(separator: ": ")
        return (KubernetesBackend.workerContainer, reason.isEmpty ? "the pod failed" : reason)
    }

    private static func describe(_ terminated: ContainerState.Terminated, container: String) -> String {
        var text = "container \(container) exited with code \(terminated.exitCode)"
        if let reason = terminated.reason { text += " (\(reason))" }
        if let message = terminated.message, !message.isEmpty { text += ": \(message)" }
        return text
    }
}

extension JobStatus {
    /// Whether the Job's counts show a pod: active, terminating, succeeded or failed.
    var hasHadPods: Bool {
        [active, terminating, succeeded, failed].contains { ($0 ?? 0) > 0 }
    }
}
