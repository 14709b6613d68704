import FanoutCore
import FanoutStorage
import Foundation
import Logging
import Synchronization

/// One execution of a run on the cluster: takes the scheduler's launches and cancels, makes each launch into Jobs
/// (shipping the executable once), follows every Job and pod with one watch each, tells the scheduler how each
/// attempt goes, and cleans up after cancellation or failure.
final class KubernetesRunSession: Sendable {
    let options: KubernetesBackend.Options
    let client: KubernetesClient
    let namespace: String
    let submission: Submission
    let queue: AttemptQueue
    /// This execution's label on its Jobs and pods: new, or that of the earlier execution it adopts.
    private let tokenBox = Mutex(KubernetesJobPlan.newToken())
    var token: String { tokenBox.withLock { $0 } }
    private let tracker: Mutex<KubernetesRunTracker>
    private let lastPodCounts = Mutex<KubernetesRunTracker.PodCounts?>(nil)
    /// The shipped executable's URL and digest, once shipped.
    private let shipped = Mutex<(url: String, sha256: String)?>(nil)
    /// Launches made into Jobs so far, which number their Jobs' names.
    private let waves = Mutex(0)
    private let adopted = Mutex(false)
    private let logger: Logger

    init(
        options: KubernetesBackend.Options, client: KubernetesClient, namespace: String, submission: Submission,
        queue: AttemptQueue
    ) {
        self.options = options
        self.client = client
        self.namespace = namespace
        self.submission = submission
        self.queue = queue
        var tracker = KubernetesRunTracker(
            jobs: [], pendingTimeout: options.pendingTimeout, pendingPolicy: options.pendingPolicy,
            startFailurePolicy: options.startFailurePolicy)
        tracker.misconfiguredExitCodes = Set(options.failIndexExitCodes + options.failJobExitCodes)
        self.tracker = Mutex(tracker)
        var logger = options.logger
        logger[metadataKey: "run"] = "\(submission.runID)"
        self.logger = logger
    }

    private var selector: String {
        KubernetesLabels.selector(runID: submission.runID, token: token)
    }

    /// Logs what is also reported to the caller: at debug level when the caller hears reports, so that each
    /// thing is said once.
    private func logReported(_ level: Logger.Level, _ message: Logger.Message, metadata: Logger.Metadata? = nil) {
        logger.log(level: submission.isObserved ? .debug : level, message, metadata: metadata)
    }

    /// Tells the caller, and a person what they should see.
    private func emit(_ event: KubernetesBackendEvent) {
        // The notice first: a caller who waits for the event then finds the notice told.
        if let notice = Self.notice(for: event, namespace: namespace) { submission.report(.notice(notice)) }
        submission.report(.backend(event))
    }

    /// A line for the user about a pod that fails, waits or is disrupted, a Job that gets no pods, or a Job shrunk
    /// to what the cluster runs.
    static func notice(for event: KubernetesBackendEvent, namespace: String) -> String? {
        func shardText(_ shard: Int?) -> String { shard.map { "shard \($0)" } ?? "a shard" }
        switch event {
        case .podPending(let pod, let shard, let waited, let message):
            let seconds = waited.components.seconds
            return "\(shardText(shard)): pod \(pod) Pending for \(seconds)s" + (message.isEmpty ? "" : ": \(message)")
        case .jobCreatedNoPods(let job, let waited):
            return "Job \(job) has created no pods in \(waited.components.seconds)s: the cluster refuses them; "
                + "kubectl -n \(namespace) describe job \(job) shows why (FailedCreate events: a ResourceQuota, "
                + "Pod Security admission, an admission webhook)"
        case .podFailed(let pod, let shard, let reason, let logTail):
            let tail = logTail.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
            return "\(shardText(shard)): pod \(pod) failed: \(reason)" + (tail.isEmpty ? "" : "\n" + tail)
        case .podsRefused(let failure):
            return "Job \(failure.job) cannot create pods: \(failure.message). \(failure.advice(namespace: namespace))"
        case .podCannotStart(let failure):
            let head =
                "\(shardText(failure.shard)): pod \(failure.pod) cannot start its container \(failure.container)"
            let reason = failure.message.isEmpty ? failure.reason : "\(failure.reason): \(failure.message)"
            return "\(head): \(reason). \(failure.advice(namespace: namespace))"
        case .podDisrupted(let pod, let shard, let reason):
            return "\(shardText(shard)): pod \(pod) was disrupted (\(reason)); the shard runs again"
        case .jobsAdopted(let names):
            return "following \(names.joined(separator: ", ")), started by an earlier driver of this run and still running"
        case .shrunk(let job, let parallelism):
            return "Job \(job): pods could not be scheduled; it now runs \(parallelism) pod"
                + (parallelism == 1 ? "" : "s") + " at once, and its other shards wait for them"
        default:
            return nil
        }
    }

    /// Reports the pods running and pending when the counts changed.
    private func reportPodCounts() {
        let counts = tracker.withLock { $0.podCounts }
        let changed = lastPodCounts.withLock { last in
            defer { last = counts }
            return last.map { $0 != counts } ?? true
        }
        if changed { submission.report(.workers(running: counts.running, pending: counts.pending)) }
    }

    // MARK: - Serving

    /// Serves the scheduler's requests until they end, following the Jobs and pods all along.
    func serve() async throws {
        try await adoptRunningJobs()
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await request in self.queue.requests {
                    switch request {
                    case .launch(let launches): try await self.launch(launches)
                    case .cancel(let ids): try await self.perform(self.tracker.withLock { $0.cancel(ids) })
                    }
                }
                // The requests end early when the run is cancelled: then the Jobs are deleted, not left to finish.
                try Task.checkCancellation()
                return true
            }
            group.addTask {
                for try await event in self.client.watchChanges(
                    Job.self, namespace: self.namespace, labelSelector: self.selector)
                {
                    let actions = self.tracker.withLock { tracker -> [KubernetesRunTracker.Action] in
                        switch event {
                        case .synced(let jobs): tracker.jobsSynced(jobs)
                        case .added(let job), .modified(let job): tracker.jobChanged(job)
                        case .deleted(let job): tracker.jobDeleted(job)
                        }
                    }
                    try await self.perform(actions)
                }
                return false
            }
            group.addTask {
                for try await event in self.client.watchChanges(
                    Pod.self, namespace: self.namespace, labelSelector: self.selector)
                {
                    let now = ContinuousClock.now
                    let actions = self.tracker.withLock { tracker -> [KubernetesRunTracker.Action] in
                        switch event {
                        case .synced(let pods): return tracker.podsSynced(pods, now: now)
                        case .added(let pod), .modified(let pod): return tracker.podChanged(pod, now: now)
                        case .deleted(let pod): return tracker.podChanged(pod, now: now) + tracker.podDeleted(pod)
                        }
                    }
                    self.reportPodCounts()
                    try await self.perform(actions)
                }
                return false
            }
            group.addTask {
                // The Pending watchdog reads only what the pod watch has seen: no API requests.
                let interval = min(max(self.options.pendingTimeout / 4, .milliseconds(50)), .seconds(1))
                while true {
                    try await Task.sleep(for: interval)
                    try await self.perform(self.tracker.withLock { $0.checkPending(now: .now) })
                }
            }
            while let done = try await group.next() {
                guard done else { continue }
                // A Job's status may tell its attempts' ends before the pod watch shows the pods finished: give it
                // a moment, so that finished pods are not taken for ones left behind.
                let deadline = ContinuousClock.now + .seconds(5)
                while tracker.withLock({ $0.strayPods > 0 }), ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(50))
                }
                group.cancelAll()
                return
            }
        }
        try Task.checkCancellation()
        // Pods of Jobs an earlier driver left, for shards done since, are not left waiting.
        if tracker.withLock({ $0.strayPods }) > 0 { await cleanUp(reason: "finished") }
    }

    /// The shards that failed in a Job and completed in none, for the backend's own event.
    var failedShards: [Int] {
        tracker.withLock { $0.failedShards(among: Set(submission.shards)).keys.sorted() }
    }

    /// Makes launches into Jobs: one Indexed Job (or a few, past API limits) for the attempts that share their
    /// attempt number, memory and way of running, so a wave of re-runs costs a few requests, whatever its shards.
    /// Launches whose shards a Job left by an earlier driver still runs are bound to it instead.
    private func launch(_ launches: [AttemptLaunch]) async throws {
        var left = launches
        if adopted.withLock({ $0 }) {
            let unbound = Set(tracker.withLock { $0.bind(launches.map(\.id)) })
            left = launches.filter { unbound.contains($0.id) }
        }
        guard !left.isEmpty else { return }
        let executable = try await shipOnce()
        let defaultMemory = options.resources.memory.flatMap(ResourceQuantity.value)
        let groups = Dictionary(grouping: left) { launch in
            LaunchGroup(
                attempt: launch.id.number, memoryBytes: launch.memoryBytes == defaultMemory ? nil : launch.memoryBytes,
                isolation: launch.isolation, isBackup: launch.isBackup)
        }
        let backend = KubernetesBackend(options: options)
        for (key, members) in groups.sorted(by: { $0.key < $1.key }) {
            let wave = waves.withLock { wave in
                defer { wave += 1 }
                return wave
            }
            var plan = try backend.jobPlan(
                runID: submission.runID, stateLocation: submission.stateLocation, stepName: submission.stepName,
                shards: members.map(\.id.shard), token: token)
            plan.runDigest = submission.runDigest
            plan.attempt = key.attempt
            plan.memoryBytes = key.memoryBytes
            plan.isolation = key.isolation
            plan.isBackup = key.isBackup
            plan.wave = wave
            plan.executableURL = executable?.url
            plan.executableSHA256 = executable?.sha256
            let jobs = try backend.manifests(for: plan, namespace: namespace)
            let ids = members.map(\.id)
            var created: [String] = []
            for job in jobs {
                tracker.withLock { $0.register(job, attempts: ids) }
                do {
                    _ = try await client.create(job, namespace: namespace)
                } catch let error as KubernetesError where error.code == .alreadyExists {
                    // Created by an earlier try of this request whose answer was lost.
                } catch let error as KubernetesError {
                    throw error.hintingAtAnOlderCluster()
                }
                created.append(job.metadata.name ?? "")
            }
            emit(.jobsCreated(names: created))
            logger.info(
                "created \(created.count) Job\(created.count == 1 ? "" : "s") for \(ids.count) shard\(ids.count == 1 ? "" : "s")",
                metadata: [
                    "namespace": "\(namespace)", "selector": "\(selector)", "attempt": "\(key.attempt)",
                    "backup": "\(key.isBackup)",
                ])
        }
    }

    /// Uploads the executable before the first Jobs, and says where pods download it; `nil` when the image holds
    /// the program.
    private func shipOnce() async throws -> (url: String, sha256: String)? {
        guard options.shipExecutable else { return nil }
        if let done = shipped.withLock({ $0 }) { return done }
        let executable = try LinuxExecutable(path: options.executable)
        if executable.needsSwiftRuntime && options.image != WorkerImage.swiftRuntime {
            let advice =
                "the shipped executable loads the Swift runtime libraries: the image \(options.image) must carry "
                + "those of the Swift release that built it, as \(WorkerImage.swiftRuntime) does for Swift "
                + "\(WorkerImage.swiftRelease), or build it with --static-swift-stdlib"
            logger.notice("\(advice)")
        }
        let result = try await ExecutableShipper(
            store: submission.stateStore, root: submission.stateRoot, executable: options.executable
        ).ship(lifetime: options.executableURLLifetime)
        // Marked as this run's, so that `fanout gc` keeps it while it keeps the run.
        try await submission.recordExecutable(digest: result.sha256)
        emit(.executableShipped(key: result.key, bytes: result.bytes, uploaded: result.uploaded))
        if result.signedWithSessionToken {
            let warning =
                "the state store's credentials are temporary (a session token): pods can download the executable "
                + "only while that session lasts, however long its URL's lifetime"
            logReported(.notice, "\(warning)")
            submission.report(.notice(warning))
        }
        let done = (url: result.url.absoluteString, sha256: result.sha256)
        shipped.withLock { $0 = done }
        return done
    }

    /// Follows the Jobs an earlier execution of this run left running (its driver was killed, or ran on another
    /// machine) rather than running the same shards again beside them: launches for their shards are bound to
    /// them. Finished Jobs of earlier executions are deleted; running ones of several executions are deleted too,
    /// and the shards start afresh.
    private func adoptRunningJobs() async throws {
        let earlier = try await client.list(
            Job.self, namespace: namespace, labelSelector: KubernetesLabels.selector(runID: submission.runID)
        ).items
            .filter { $0.metadata.deletionTimestamp == nil }
        guard !earlier.isEmpty else { return }
        let running = earlier.filter { !$0.isFinished }
        let tokens = Set(running.compactMap { $0.metadata.labels?[KubernetesLabels.submission] })
        let adopted = tokens.count == 1 ? tokens.first : nil
        for job in earlier where adopted == nil || job.isFinished {
            guard let name = job.metadata.name else { continue }
            try await client.delete(Job.self, name: name, namespace: namespace, propagationPolicy: .background)
        }
        guard let adopted else { return }
        let jobs = running.filter { $0.metadata.labels?[KubernetesLabels.submission] == adopted }
        tokenBox.withLock { $0 = adopted }
        tracker.withLock {
            var tracker = KubernetesRunTracker(
                jobs: jobs, pendingTimeout: options.pendingTimeout, pendingPolicy: options.pendingPolicy,
                startFailurePolicy: options.startFailurePolicy)
            tracker.misconfiguredExitCodes = $0.misconfiguredExitCodes
            $0 = tracker
        }
        self.adopted.withLock { $0 = true }
        // New Jobs of this execution must not take the names of the adopted ones.
        waves.withLock { $0 = jobs.count + 1 }
        let names = jobs.compactMap(\.metadata.name)
        emit(.jobsAdopted(names: names))
        logReported(.info, "following the run's Jobs an earlier driver started", metadata: ["jobs": "\(names)"])
    }

    private func perform(_ actions: [KubernetesRunTracker.Action]) async throws {
        for action in actions {
            switch action {
            case .attempt(let event):
                queue.report(event)
            case .deletePod(let pod):
                await deletePod(pod)
            case .deleteJob(let job):
                await deleteJob(job)
            case .fetchLogs(let pod, let container, let shard, let reason, let attempt, let end):
                let tail = await logTail(pod: pod, container: container)
                var detail = "pod \(pod): \(reason)"
                if !tail.isEmpty { detail += "; last log lines:\n" + tail }
                try await perform(
                    tracker.withLock { $0.recordFailure(attempt: attempt, shard: shard, end: end, detail: detail) })
                logReported(
                    .warning, "pod failed",
                    metadata: ["pod": "\(pod)", "shard": "\(shard.map(String.init) ?? "?")", "reason": "\(reason)"])
                emit(.podFailed(pod: pod, shard: shard, reason: reason, logTail: tail))
            case .disrupted(let pod, let shard, let reason):
                logReported(
                    .info, "pod disrupted; its shard runs again", metadata: ["pod": "\(pod)", "reason": "\(reason)"])
                emit(.podDisrupted(pod: pod, shard: shard, reason: reason))
            case .pending(let pod, let shard, let waited, let message):
                logReported(
                    .warning, "pod is still Pending",
                    metadata: ["pod": "\(pod)", "waited": "\(waited)", "reason": "\(message)"])
                emit(.podPending(pod: pod, shard: shard, waited: waited, message: message))
            case .noPods(let job, let waited):
                logReported(
                    .warning, "the Job has created no pods: the cluster refuses them",
                    metadata: ["job": "\(job)", "waited": "\(waited)"])
                emit(.jobCreatedNoPods(name: job, waited: waited))
            case .shrink(let job, let parallelism):
                await shrink(job: job, parallelism: parallelism)
            case .jobFinished(let name, let succeeded, let reason):
                emit(.jobFinished(name: name, succeeded: succeeded, reason: reason))
            case .cannotStart(let failure):
                logReported(
                    .error, "a pod cannot start",
                    metadata: [
                        "pod": "\(failure.pod)", "container": "\(failure.container)", "reason": "\(failure.reason)",
                        "message": "\(failure.message)",
                    ])
                emit(.podCannotStart(failure))
            case .abortCannotStart(let failure):
                throw KubernetesError(
                    code: .podsCannotStart, message: failure.description,
                    hint: failure.advice(namespace: namespace)
                        + " The run's Jobs were deleted; to wait for a fix instead, run with --wait-unstartable "
                        + "(startFailurePolicy .wait).")
            case .readCreationFailures(let jobs):
                let failures = await creationFailures(of: jobs)
                try await perform(tracker.withLock { $0.creationFailed(failures) })
            case .cannotCreate(let failure):
                logger.error(
                    "the cluster refuses to create the Job's pods",
                    metadata: ["job": "\(failure.job)", "message": "\(failure.message)"])
                emit(.podsRefused(failure))
            case .abortCannotCreate(let failure):
                throw KubernetesError(
                    code: .podsCannotStart, message: failure.description,
                    hint: failure.advice(namespace: namespace)
                        + " The run's Jobs were deleted; to wait for a fix instead, run with --wait-unstartable "
                        + "(startFailurePolicy .wait).")
            case .abort(let message, let hint):
                throw KubernetesError(
                    code: .podsPending, message: message,
                    hint: hint
                        ?? "Check the cluster's capacity and the pods' requests, node selector and tolerations, or "
                        + "raise pendingTimeout.")
            }
        }
    }

    /// Deletes a cancelled attempt's pod: its index fails and nothing replaces it (no retries in the Job).
    private func deletePod(_ name: String) async {
        do {
            try await client.delete(Pod.self, name: name, namespace: namespace)
        } catch let error as KubernetesError where error.code == .notFound {
        } catch {
            logger.warning("cannot delete a cancelled attempt's pod", metadata: ["pod": "\(name)", "error": "\(error)"])
        }
    }

    /// Deletes a Job whose every attempt was cancelled, with its pods.
    private func deleteJob(_ name: String) async {
        do {
            try await client.delete(Job.self, name: name, namespace: namespace, propagationPolicy: .background)
        } catch let error as KubernetesError where error.code == .notFound {
        } catch {
            logger.warning("cannot delete a cancelled attempt's Job", metadata: ["job": "\(name)", "error": "\(error)"])
        }
    }

    /// Lowers a Job's parallelism with one merge patch; the Job controller then deletes its excess pods, those
    /// waiting for a node first. A patch that fails leaves the run waiting, as with the wait policy.
    private func shrink(job: String, parallelism: Int) async {
        do {
            let body: JSONValue = ["spec": ["parallelism": .integer(Int64(parallelism))]]
            try await client.patch(Job.self, name: job, namespace: namespace, body: body)
        } catch let error as KubernetesError where error.code == .notFound {
            return
        } catch {
            logger.warning(
                "cannot shrink a Job whose pods wait for nodes", metadata: ["job": "\(job)", "error": "\(error)"])
            return
        }
        logReported(
            .notice, "pods could not be scheduled: lowered the Job's parallelism to the pods running",
            metadata: ["job": "\(job)", "parallelism": "\(parallelism)"])
        emit(.shrunk(job: job, parallelism: parallelism))
    }

    /// The `FailedCreate` events of `jobs`, read with one list request. Without the permission to list events, the
    /// Jobs are left to the Pending watchdog.
    private func creationFailures(of jobs: [String]) async -> [PodCreationFailure] {
        let wanted = Set(jobs)
        do {
            let events = try await client.list(
                Event.self, namespace: namespace, fieldSelector: "involvedObject.kind=Job,reason=FailedCreate"
            ).items
            return events.compactMap { event in
                guard let job = event.involvedObject?.name, wanted.contains(job), let message = event.message else {
                    return nil
                }
                return PodCreationFailure(job: job, eventMessage: message)
            }
        } catch let error as KubernetesError where error.code == .forbidden {
            logger.notice(
                "cannot read the Jobs' events to say why they have no pods", metadata: ["error": "\(error)"])
            tracker.withLock { $0.stopCreationReads() }
        } catch {
            logger.debug("cannot read the Jobs' events", metadata: ["error": "\(error)"])
        }
        return []
    }

    private func logTail(pod: String, container: String) async -> String {
        do {
            return try await client.logs(
                pod: pod, namespace: namespace, container: container, tailLines: max(1, options.logTailLines)
            ).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            logger.debug("cannot read the log of a failed pod", metadata: ["pod": "\(pod)", "error": "\(error)"])
            return ""
        }
    }

    // MARK: - Clean-up

    /// Deletes this execution's Jobs (propagation Background) and waits until none of their pods remain, or
    /// the clean-up timeout passes.
    func cleanUp(reason: String) async {
        guard submission.ownsRun() else {
            logger.notice("another driver took the run over: its Jobs and pods are left to it", metadata: ["selector": "\(selector)"])
            return
        }
        do {
            try await withDeadline(options.cleanupTimeout) {
                try await self.deleteJobs()
                try await self.waitForPodsGone()
            }
            emit(.cleanedUp(reason: reason, remainingPods: 0))
        } catch {
            let remaining =
                (try? await client.list(Pod.self, namespace: namespace, labelSelector: selector).items.count) ?? -1
            logger.error(
                "could not clean up the run's Jobs and pods",
                metadata: ["error": "\(error)", "remainingPods": "\(remaining)", "selector": "\(selector)"])
            emit(.cleanedUp(reason: reason, remainingPods: max(remaining, 0)))
        }
    }

    private func deleteJobs() async throws {
        do {
            try await client.deleteCollection(
                Job.self, namespace: namespace, labelSelector: selector, propagationPolicy: .background)
        } catch let error as KubernetesError where error.code == .forbidden || error.status == 405 {
            // Without deletecollection rights, one by one.
            for job in try await client.list(Job.self, namespace: namespace, labelSelector: selector).items {
                if let name = job.metadata.name {
                    try await client.delete(Job.self, name: name, namespace: namespace, propagationPolicy: .background)
                }
            }
        }
    }

    private func waitForPodsGone() async throws {
        var remaining = Set<String>()
        for try await event in client.watchChanges(Pod.self, namespace: namespace, labelSelector: selector) {
            switch event {
            case .synced(let pods): remaining = Set(pods.compactMap(\.metadata.name))
            case .added(let pod), .modified(let pod): if let name = pod.metadata.name { remaining.insert(name) }
            case .deleted(let pod): if let name = pod.metadata.name { remaining.remove(name) }
            }
            if remaining.isEmpty { return }
        }
    }
}

/// Runs `body`, throwing ``KubernetesError/Code/timedOut`` if it takes longer than `limit`.
func withDeadline(_ limit: Duration, _ body: @escaping @Sendable () async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Bool.self) { group in
        group.addTask {
            try await body()
            return true
        }
        group.addTask {
            try await Task.sleep(for: limit)
            return false
        }
        let finished = try await group.next() ?? false
        group.cancelAll()
        if !finished { throw KubernetesError(code: .timedOut, message: "did not finish within \(limit)") }
    }
}

/// What the attempts of one launch's Job share.
struct LaunchGroup: Hashable, Comparable {
    let attempt: Int
    let memoryBytes: Int64?
    let isolation: CrashIsolation?
    let isBackup: Bool

    static func < (lhs: LaunchGroup, rhs: LaunchGroup) -> Bool {
        (lhs.isBackup ? 1 : 0, lhs.attempt, lhs.memoryBytes ?? 0, lhs.isolation?.crashMessage ?? "")
            < (rhs.isBackup ? 1 : 0, rhs.attempt, rhs.memoryBytes ?? 0, rhs.isolation?.crashMessage ?? "")
    }
}
