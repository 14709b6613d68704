import FanoutCore
import Foundation

/// What the backend knows of a run's Jobs and pods, updated from watch events: how each attempt the scheduler
/// launched is going (running, and how it ended), which pods failed (and need their logs read), which wait too long
/// and what to do about it. A pure state machine: events in, actions out; the session performs the actions.
///
/// Each pod runs one attempt: the Job's index (or the Job, one per shard) fails with the pod, and the scheduler
/// decides whether the shard runs again, in a new Job. A failed pod's end is told apart as the scheduler needs it:
/// disrupted (`DisruptionTarget`), OOM-killed (the worker's `OOMKilled` status), crashed (killed by a signal of its
/// own making), misconfigured (an exit that no attempt can change), or failed.
struct KubernetesRunTracker: Sendable {
    /// Something the session must do.
    enum Action: Sendable, Equatable {
        /// Tell the scheduler.
        case attempt(AttemptEvent)
        /// Read the log of a failed pod's container, record the failure for the shard, and tell the scheduler the
        /// attempt's exit (`end`, with the reason and log lines) through ``recordFailure(attempt:shard:end:detail:)``.
        case fetchLogs(pod: String, container: String, shard: Int?, reason: String, attempt: AttemptID?, end: PodEnd)
        /// Delete a pod whose attempt was cancelled: its index fails, and nothing replaces it.
        case deletePod(String)
        /// Delete a Job whose every attempt was cancelled.
        case deleteJob(String)
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

    /// How a failed pod's attempt ended, before its log is read.
    enum PodEnd: Sendable, Hashable {
        case failed
        case crashed
        case oomKilled
        case misconfigured

        func exit(_ detail: String) -> AttemptExit {
            switch self {
            case .failed: .failed(detail)
            case .crashed: .crashed(detail)
            case .oomKilled: .oomKilled(detail)
            case .misconfigured: .misconfigured(detail)
            }
        }
    }

    struct JobRecord: Sendable {
        let name: String
        /// The shards the Job runs, in completion-index order.
        let shards: ShardList
        let indexed: Bool
        /// The attempt each shard's pod runs, by shard: set when the Job is created for a launch, or when a launch
        /// is bound to a Job an earlier driver left running.
        var attempts: [Int: AttemptID] = [:]
        /// Whether the Job watch has shown it: only then does its absence from a listing mean it was deleted.
        var seen = false
        /// Why the Job is failing, once it has a `FailureTarget` (or `Failed`) condition.
        var failing: String?
        /// Whether the pod failure policy failed it (an image that cannot run the program).
        var failedByPolicy = false
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
        var job: String?
        var attempt: AttemptID?
        var phase: String
        var deleteRequested = false
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
    /// Attempts whose exit the scheduler has been told, or will be once their failed pod's log is read.
    private(set) var exited = Set<AttemptID>()
    /// Attempts told running.
    private var running = Set<AttemptID>()
    /// Attempts the scheduler cancelled, which end as ``AttemptExit/cancelled`` unless they already ended.
    private(set) var cancelling = Set<AttemptID>()
    /// Attempts whose pod was deleted before it finished, by someone other than the scheduler or the Job: each
    /// is disrupted once its Job fails the index.
    private var deletedUnfinished: [AttemptID: String] = [:]
    /// The exit codes of the worker that mean no attempt can succeed.
    var misconfiguredExitCodes: Set<Int32> = [WorkerExit.misconfigured, 127, 128]
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
            guard let name = job.metadata.name, var record = Self.record(for: job, name: name, now: now) else {
                continue
            }
            record.seen = true
            self.jobs[name] = record
        }
    }

    /// Starts following a Job created for a launch: its pods run `attempts`.
    mutating func register(_ job: Job, attempts: [AttemptID], now: ContinuousClock.Instant = .now) {
        guard let name = job.metadata.name, var record = Self.record(for: job, name: name, now: now) else { return }
        let wanted = Set(record.shards.shards)
        for id in attempts where wanted.contains(id.shard) { record.attempts[id.shard] = id }
        jobs[name] = record
    }

    /// Binds launches to the unfinished Jobs an earlier driver of the run left running, whose pods run the same
    /// shards already.
    /// - Returns: the launches no such Job runs, which need Jobs of their own.
    mutating func bind(_ ids: [AttemptID]) -> [AttemptID] {
        var left: [AttemptID] = []
        for id in ids {
            let name = jobs.keys.sorted().first { name in
                let record = jobs[name]!
                return !record.finished && record.attempts[id.shard] == nil
                    && !record.completed.contains(id.shard) && !record.failed.contains(id.shard)
                    && record.shards.shards.contains(id.shard)
            }
            guard let name else {
                left.append(id)
                continue
            }
            jobs[name]!.attempts[id.shard] = id
        }
        return left
    }

    /// Attempts launched here that have not ended.
    var liveAttempts: [AttemptID] {
        jobs.values.flatMap(\.attempts.values).filter { !exited.contains($0) }.sorted()
    }

    private static func record(for job: Job, name: String, now: ContinuousClock.Instant) -> JobRecord? {
        let template = job.spec?.template.metadata?.labels ?? [:]
        let parallelism = job.spec?.parallelism ?? 1
        if job.spec?.completionMode == "Indexed" {
            let count = max(1, job.spec?.completions ?? 1)
            let list: ShardList
            if let listed = job.spec?.template.metadata?.annotations?[KubernetesLabels.shards]
                .flatMap(ShardList.init(parsing:))
            {
                list = listed
            } else if let offset = template[KubernetesLabels.shardOffset].flatMap(Int.init) {
                list = ShardList(offset..<(offset + count))
            } else {
                return nil
            }
            return JobRecord(
                name: name, shards: list, indexed: true, parallelism: parallelism, since: now,
                hadPods: job.status?.hasHadPods ?? false)
        }
        guard let shard = template[KubernetesLabels.shard].flatMap(Int.init) else { return nil }
        return JobRecord(
            name: name, shards: ShardList([shard]), indexed: false, parallelism: parallelism, since: now,
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

    /// Pods still waiting or running once the run needs no more attempts, that nothing else will stop: not being
    /// deleted already, running no attempt of this driver's (one whose attempt ended is only news the pod watch has
    /// not brought yet), and of a Job that has not finished. An earlier driver's Job running shards done since is
    /// such.
    var strayPods: Int {
        pods.values.filter { record in
            guard record.phase == "Pending" || record.phase == "Running", !record.deleteRequested else { return false }
            if let attempt = record.attempt, exited.contains(attempt) { return false }
            return !(record.job.flatMap { jobs[$0]?.finished } ?? false)
        }.count
    }

    // MARK: - Jobs

    mutating func jobsSynced(_ listed: [Job]) -> [Action] {
        let names = Set(listed.compactMap(\.metadata.name))
        var actions: [Action] = []
        for job in listed { actions += jobChanged(job) }
        for name in jobs.keys where !names.contains(name) && jobs[name]!.seen && !jobs[name]!.finished {
            actions += markDeleted(name)
        }
        return actions
    }

    mutating func jobChanged(_ job: Job) -> [Action] {
        guard let name = job.metadata.name, var record = jobs[name], !record.finished else { return [] }
        record.seen = true
        if let parallelism = job.spec?.parallelism { record.parallelism = parallelism }
        if job.status?.hasHadPods == true { record.hadPods = true }
        if record.indexed {
            let list = record.shards
            record.completed = Set(CompletionIndexes.parse(job.status?.completedIndexes).compactMap { list[$0] })
            record.failed = Set(CompletionIndexes.parse(job.status?.failedIndexes).compactMap { list[$0] })
        } else if job.succeeded {
            record.completed = Set(record.shards.shards)
        }
        if let failing = job.failedCondition ?? job.condition("FailureTarget") {
            let reason = [failing.reason, failing.message].compactMap { $0 }.joined(separator: ": ")
            record.failing = "Job \(name) failed" + (reason.isEmpty ? "" : ": \(reason)")
            record.failedByPolicy = failing.reason == "PodFailurePolicy"
        }
        var actions: [Action] = []
        for shard in record.failed.sorted() {
            guard let attempt = record.attempts[shard], let pod = deletedUnfinished[attempt] else { continue }
            actions += end(attempt, .disrupted("pod \(pod) was deleted before it finished"))
        }
        if job.succeeded {
            record.finished = true
            actions.append(.jobFinished(name: name, succeeded: true, reason: nil))
        } else if let failed = job.failedCondition {
            record.finished = true
            let reason = [failed.reason, failed.message].compactMap { $0 }.joined(separator: ": ")
            record.failureReason = record.failing
            // Whatever did not complete has failed.
            record.failed = Set(record.shards.shards).subtracting(record.completed)
            actions.append(.jobFinished(name: name, succeeded: false, reason: reason))
        }
        jobs[name] = record
        if record.finished { actions += endAttempts(of: name) }
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
        record.failing = record.failing ?? record.failureReason
        record.failed = Set(record.shards.shards).subtracting(record.completed)
        jobs[name] = record
        return [.jobFinished(name: name, succeeded: false, reason: "deleted")] + endAttempts(of: name)
    }

    /// The attempts of a finished Job whose pods did not say how they ended: succeeded where the Job completed
    /// their index, cancelled where the scheduler asked, misconfigured where the pod failure policy failed the Job
    /// (the image cannot run the program), and otherwise failed with the Job's reason (a deadline), or disrupted
    /// when the Job was deleted by someone else.
    private mutating func endAttempts(of name: String) -> [Action] {
        guard let record = jobs[name] else { return [] }
        var actions: [Action] = []
        for (shard, id) in record.attempts.sorted(by: { $0.key < $1.key }) where !exited.contains(id) {
            let reason = record.failing ?? record.failureReason ?? "Job \(name) failed"
            let exit: AttemptExit
            if record.completed.contains(shard) {
                exit = .succeeded
            } else if cancelling.contains(id) {
                exit = .cancelled
            } else if record.failedByPolicy {
                exit = .misconfigured(reason)
            } else if deletedUnfinished[id] == nil, pods.values.contains(where: { $0.attempt == id }) {
                // Its pod's end is on its way through the pod watch, with the reason the scheduler needs.
                continue
            } else if let pod = deletedUnfinished[id] {
                exit = .disrupted("pod \(pod) was deleted before it finished")
            } else if record.failureReason?.hasSuffix("was deleted before it finished") == true {
                exit = .disrupted(reason)
            } else {
                exit = .failed(reason)
            }
            actions += end(id, exit)
        }
        return actions
    }

    /// Tells the scheduler an attempt ended, once.
    private mutating func end(_ id: AttemptID, _ exit: AttemptExit) -> [Action] {
        guard exited.insert(id).inserted else { return [] }
        running.remove(id)
        return [.attempt(.exited(id, exit))]
    }

    // MARK: - Cancelling

    /// Stops attempts: each Job all of whose live attempts are cancelled is deleted; otherwise the attempts' pods
    /// are, now or as they appear. Each attempt then ends as cancelled, unless it ended first.
    mutating func cancel(_ ids: [AttemptID]) -> [Action] {
        let live = Set(ids).subtracting(exited)
        guard !live.isEmpty else { return [] }
        cancelling.formUnion(live)
        var actions: [Action] = []
        var deletedJobs = Set<String>()
        for name in jobs.keys.sorted() {
            guard let record = jobs[name], !record.finished else { continue }
            let attempts = Set(record.attempts.values).subtracting(exited)
            guard !attempts.isDisjoint(with: live) else { continue }
            if attempts.isSubset(of: cancelling), record.attempts.count == record.shards.count {
                deletedJobs.insert(name)
                actions.append(.deleteJob(name))
            }
        }
        for name in pods.keys.sorted() {
            guard var record = pods[name], let attempt = record.attempt, live.contains(attempt),
                let job = record.job, !deletedJobs.contains(job), !record.deleteRequested,
                record.phase != "Succeeded" && record.phase != "Failed"
            else { continue }
            record.deleteRequested = true
            pods[name] = record
            actions.append(.deletePod(name))
        }
        return actions
    }

    // MARK: - Pods

    mutating func podsSynced(_ listed: [Pod], now: ContinuousClock.Instant) -> [Action] {
        let names = Set(listed.compactMap(\.metadata.name))
        var actions: [Action] = []
        for name in pods.keys.sorted() where !names.contains(name) { actions += podGone(name) }
        podsListed = true
        return actions + listed.flatMap { podChanged($0, now: now) }
    }

    mutating func podChanged(_ pod: Pod, now: ContinuousClock.Instant) -> [Action] {
        guard let name = pod.metadata.name else { return [] }
        let shard = shard(of: pod)
        let job = pod.jobName ?? self.job(running: shard)
        if pods[name] == nil, let job { jobs[job]?.hadPods = true }
        var record = pods[name] ?? PodRecord(name: name, shard: shard, phase: pod.phase, firstSeen: now)
        record.job = job
        record.attempt = shard.flatMap { shard in job.flatMap { jobs[$0]?.attempts[shard] } }
        record.phase = pod.phase
        record.scheduled = pod.spec?.nodeName != nil || pod.condition("PodScheduled") != nil
        record.schedulerMessage =
            pod.condition("PodScheduled", status: "False").map { condition in
                condition.message ?? condition.reason ?? "unschedulable"
            } ?? Self.waitingMessage(pod)
        var actions: [Action] = []
        let attempt = record.attempt
        let live = pod.phase == "Pending" || pod.phase == "Running"
        if live, let attempt, cancelling.contains(attempt), !record.deleteRequested {
            record.deleteRequested = true
            actions.append(.deletePod(name))
        }
        if pod.phase == "Running", let attempt, !exited.contains(attempt), running.insert(attempt).inserted {
            actions.append(.attempt(.running(attempt)))
        }
        if live { actions += checkStart(pod, record: &record) }
        if pod.phase == "Succeeded", let attempt {
            actions += end(attempt, .succeeded)
        }
        if pod.phase == "Failed", !record.failureHandled {
            record.failureHandled = true
            if let attempt, cancelling.contains(attempt) {
                actions += end(attempt, .cancelled)
            } else if let disruption = pod.condition("DisruptionTarget") {
                let reason = [disruption.reason, disruption.message].compactMap { $0 }.joined(separator: ": ")
                actions.append(.disrupted(pod: name, shard: record.shard, reason: reason))
                if let attempt { actions += end(attempt, .disrupted(reason)) }
            } else if pod.metadata.deletionTimestamp != nil, let job, let failing = jobs[job]?.failing {
                // Stopped by its Job's failure: the attempt ends as the Job did.
                if let attempt {
                    actions += end(attempt, jobs[job]!.failedByPolicy ? .misconfigured(failing) : .failed(failing))
                }
            } else if pod.metadata.deletionTimestamp != nil, let attempt {
                // Deleted, then stopped: by the Job lowering its parallelism (the index runs again in the Job), or
                // by someone else (the Job fails the index: a disruption).
                deletedUnfinished[attempt] = name
                if let job, jobs[job]?.failed.contains(attempt.shard) == true {
                    actions += end(attempt, .disrupted("pod \(name) was deleted before it finished"))
                }
            } else {
                let (container, reason, end) = Self.failure(of: pod, misconfigured: misconfiguredExitCodes)
                if let attempt { exited.insert(attempt) }
                actions.append(
                    .fetchLogs(
                        pod: name, container: container, shard: record.shard, reason: reason, attempt: attempt,
                        end: end))
            }
        }
        pods[name] = record
        return actions
    }

    /// A pod is gone. One that had not ended was deleted before it finished: by the scheduler's cancel (the
    /// attempt ends cancelled), by its Job's failure (it ends as the Job did), by the Job controller lowering the
    /// Job's parallelism (the index gets a new pod later: the attempt goes on), or by someone else (the Job fails
    /// the index, and then the attempt counts as disrupted, not failed).
    mutating func podDeleted(_ pod: Pod) -> [Action] {
        guard let name = pod.metadata.name else { return [] }
        return podGone(name)
    }

    private mutating func podGone(_ name: String) -> [Action] {
        let record = pods.removeValue(forKey: name)
        guard let attempt = record?.attempt, !exited.contains(attempt) else { return [] }
        if record?.phase == "Succeeded" || record?.phase == "Failed" { return [] }
        if cancelling.contains(attempt) { return end(attempt, .cancelled) }
        if let job = record?.job, let failing = jobs[job]?.failing {
            return end(attempt, jobs[job]!.failedByPolicy ? .misconfigured(failing) : .failed(failing))
        }
        deletedUnfinished[attempt] = name
        if let job = record?.job, jobs[job]?.failed.contains(attempt.shard) == true {
            return end(attempt, .disrupted("pod \(name) was deleted before it finished"))
        }
        return []
    }

    /// Records what a failed pod left (its reason and log lines), and tells the scheduler how its attempt ended.
    mutating func recordFailure(attempt: AttemptID?, shard: Int?, end: PodEnd, detail: String) -> [Action] {
        if let shard { failureDetails[shard] = detail }
        guard let attempt else { return [] }
        running.remove(attempt)
        return [.attempt(.exited(attempt, end.exit(detail)))]
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
        var attempted: [Action] = []
        for (name, record) in pods where record.phase == "Pending" && !record.pendingReported {
            let waited = now - record.firstSeen
            guard waited >= pendingTimeout else { continue }
            pods[name]!.pendingReported = true
            let message = record.schedulerMessage ?? "the pod is Pending"
            pending.append(.pending(pod: name, shard: record.shard, waited: waited, message: message))
            if let attempt = record.attempt, !exited.contains(attempt) {
                attempted.append(.attempt(.pending(attempt, reason: message)))
            }
        }
        var actions = creationReads(now: now) + withoutPods + pending + attempted
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
            guard let job = record.job ?? job(running: record.shard) else { continue }
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
        return jobs.values.sorted { $0.name < $1.name }.first { $0.shards.shards.contains(shard) }?.name
    }

    // MARK: - Report

    /// The shards whose index failed in some Job of this execution and completed in none (a shard re-run in a
    /// later Job that succeeded is not among them), with the best reason known: the last failed pod's exit reason
    /// and log, else the Job's failure.
    func failedShards(among requested: Set<Int>) -> [Int: String] {
        let completed = jobs.values.reduce(into: Set<Int>()) { $0.formUnion($1.completed) }
        var failed: [Int: String] = [:]
        for record in jobs.values {
            for shard in record.failed.subtracting(completed) where requested.contains(shard) {
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

    /// The container that failed, why, and how the attempt ended: an init container that exited non-zero (the
    /// download failed: a failure), else the worker: `OOMKilled`, an exit in `misconfigured`, killed by a signal
    /// of its own making (a crash: `SIGILL`, `SIGTRAP`, `SIGABRT`, `SIGBUS`, `SIGFPE`, `SIGSEGV`), or failed.
    static func failure(
        of pod: Pod, misconfigured: Set<Int32> = [WorkerExit.misconfigured]
    ) -> (container: String, reason: String, end: PodEnd) {
        for status in pod.status?.initContainerStatuses ?? [] {
            if let terminated = status.state?.terminated, terminated.exitCode != 0 {
                return (status.name, describe(terminated, container: status.name), .failed)
            }
        }
        for status in pod.status?.containerStatuses ?? [] {
            if let terminated = status.state?.terminated, terminated.exitCode != 0 {
                let end: PodEnd
                if terminated.reason == "OOMKilled" {
                    end = .oomKilled
                } else if misconfigured.contains(terminated.exitCode) {
                    end = .misconfigured
                } else if [4, 5, 6, 7, 8, 11].map({ 128 + $0 }).contains(terminated.exitCode) {
                    end = .crashed
                } else {
                    end = .failed
                }
                return (status.name, describe(terminated, container: status.name), end)
            }
        }
        let reason = [pod.status?.reason, pod.status?.message].compactMap { $0 }.joined(separator: ": ")
        return (KubernetesBackend.workerContainer, reason.isEmpty ? "the pod failed" : reason, .failed)
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
