import FanoutCore
import Foundation
import Testing

@testable import FanoutKubernetes

extension KubernetesTests {
    /// The backend's state machine, fed Job and pod states by hand: no server.
    @Suite struct KubernetesRunTrackerTests {
        private func indexedJob(offset: Int, completions: Int, parallelism: Int? = nil) -> Job {
            var spec = JobSpec(
                template: PodTemplateSpec(
                    metadata: ObjectMeta(labels: [KubernetesLabels.shardOffset: String(offset)]),
                    spec: PodSpec(containers: [Container(name: "worker")])))
            spec.completionMode = "Indexed"
            spec.completions = completions
            spec.parallelism = parallelism
            return Job(metadata: ObjectMeta(name: "job-\(offset)"), spec: spec)
        }

        private func pod(_ name: String, index: Int, offset: Int, phase: String) -> Pod {
            var pod = Pod(
                metadata: ObjectMeta(
                    name: name, labels: [KubernetesLabels.shardOffset: String(offset)],
                    annotations: [KubernetesLabels.completionIndex: String(index)]),
                spec: PodSpec(containers: [Container(name: "worker")]))
            pod.status = try? JSONDecoder().decode(PodStatus.self, from: Data(#"{"phase":"\#(phase)"}"#.utf8))
            return pod
        }

        private func status(_ json: String) throws -> JobStatus {
            try JSONDecoder().decode(JobStatus.self, from: Data(json.utf8))
        }

        @Test func indexesMapToShardsThroughTheOffset() throws {
            var tracker = KubernetesRunTracker(
                jobs: [indexedJob(offset: 0, completions: 4), indexedJob(offset: 4, completions: 4)],
                pendingTimeout: .seconds(60), pendingPolicy: .wait)
            var second = indexedJob(offset: 4, completions: 4)
            second.status = try status(
                #"{"completedIndexes":"0,2-3","failedIndexes":"1","conditions":[{"type":"Failed","status":"True","#
                    + #""reason":"FailedIndexes","message":"Job has failed indexes"}]}"#
            )
            let actions = tracker.jobChanged(second)
            #expect(
                actions == [
                    .jobFinished(name: "job-4", succeeded: false, reason: "FailedIndexes: Job has failed indexes")
                ])
            #expect(!tracker.allJobsFinished)
            #expect(
                tracker.failedShards(among: Set(0..<8)) == [
                    5: "Job job-4 failed: FailedIndexes: Job has failed indexes"
                ])

            var first = indexedJob(offset: 0, completions: 4)
            first.status = try status(#"{"completedIndexes":"0-3","conditions":[{"type":"Complete","status":"True"}]}"#)
            #expect(tracker.jobChanged(first) == [.jobFinished(name: "job-0", succeeded: true, reason: nil)])
            #expect(tracker.allJobsFinished)
        }

        @Test func aFailedPodsLogBecomesItsShardsReason() throws {
            var tracker = KubernetesRunTracker(
                jobs: [indexedJob(offset: 10, completions: 2)], pendingTimeout: .seconds(60), pendingPolicy: .wait)
            var failed = pod("p1", index: 1, offset: 10, phase: "Failed")
            failed.status?.containerStatuses = try JSONDecoder().decode(
                [ContainerStatus].self,
                from: Data(#"[{"name":"worker","state":{"terminated":{"exitCode":137,"reason":"Error"}}}]"#.utf8))
            let actions = tracker.podChanged(failed, now: .now)
            #expect(
                actions == [
                    .fetchLogs(
                        pod: "p1", container: "worker", shard: 11,
                        reason: "container worker exited with code 137 (Error)", attempt: nil, end: .failed)
                ])
            #expect(tracker.podChanged(failed, now: .now).isEmpty, "a failure is handled once")
            #expect(
                tracker.recordFailure(
                    attempt: nil, shard: 11, end: .failed, detail: "pod p1: killed; last log lines:\nboom"
                ).isEmpty, "no attempt of this driver's")

            var job = indexedJob(offset: 10, completions: 2)
            job.status = try status(
                #"{"completedIndexes":"0","failedIndexes":"1","conditions":[{"type":"Failed","status":"True"}]}"#)
            _ = tracker.jobChanged(job)
            #expect(tracker.failedShards(among: [10, 11]) == [11: "pod p1: killed; last log lines:\nboom"])
            #expect(tracker.failedShards(among: [10]).isEmpty, "only the submission's shards are reported")
        }

        @Test func disruptedPodsAreNotFailures() throws {
            var tracker = KubernetesRunTracker(
                jobs: [indexedJob(offset: 0, completions: 1)], pendingTimeout: .seconds(60), pendingPolicy: .wait)
            var evicted = pod("p", index: 0, offset: 0, phase: "Failed")
            evicted.status?.conditions = try JSONDecoder().decode(
                [PodCondition].self,
                from: Data(#"[{"type":"DisruptionTarget","status":"True","reason":"TerminationByKubelet"}]"#.utf8))
            #expect(
                tracker.podChanged(evicted, now: .now) == [
                    .disrupted(pod: "p", shard: 0, reason: "TerminationByKubelet")
                ])
        }

        @Test func pendingPodsAreReportedOnceAndCanAbortTheRun() throws {
            var tracker = KubernetesRunTracker(
                jobs: [indexedJob(offset: 0, completions: 2)], pendingTimeout: .seconds(10), pendingPolicy: .fail)
            let start = ContinuousClock.now
            var pending = pod("p", index: 1, offset: 0, phase: "Pending")
            pending.status?.conditions = try JSONDecoder().decode(
                [PodCondition].self,
                from: Data(
                    #"[{"type":"PodScheduled","status":"False","reason":"Unschedulable","message":"0/3 nodes"}]"#.utf8))
            _ = tracker.podChanged(pending, now: start)
            #expect(tracker.checkPending(now: start + .seconds(9)).isEmpty)
            let actions = tracker.checkPending(now: start + .seconds(11))
            #expect(actions.first == .pending(pod: "p", shard: 1, waited: .seconds(11), message: "0/3 nodes"))
            #expect(actions.last == .abort("pod p has been Pending for 11 s: 0/3 nodes"))
            #expect(tracker.checkPending(now: start + .seconds(30)).isEmpty)
            #expect(tracker.livePods == 1)
        }

        @Test func aJobWithoutPodsIsReportedOnceAndCanAbortTheRun() throws {
            let start = ContinuousClock.now
            var tracker = KubernetesRunTracker(
                jobs: [indexedJob(offset: 0, completions: 2), indexedJob(offset: 2, completions: 2)],
                pendingTimeout: .seconds(10), pendingPolicy: .fail, now: start)
            // Until the pod watch has listed the pods, a Job without any is not known to lack them.
            #expect(tracker.checkPending(now: start + .seconds(11)).isEmpty)
            _ = tracker.podsSynced([pod("p", index: 0, offset: 2, phase: "Running")], now: start + .seconds(11))
            // Its events are read first, to say why (next read due 2 s later).
            #expect(tracker.checkPending(now: start + .seconds(9)) == [.readCreationFailures(jobs: ["job-0"])])
            let actions = tracker.checkPending(now: start + .seconds(12))
            #expect(
                actions == [
                    .readCreationFailures(jobs: ["job-0"]),
                    .noPods(job: "job-0", waited: .seconds(12)),
                    .abort(
                        "Job job-0 has created no pods in 12 s: the cluster refuses them",
                        hint: KubernetesRunTracker.noPodsAdvice(job: "job-0")),
                ])
            #expect(KubernetesRunTracker.noPodsAdvice(job: "job-0").contains("kubectl describe job job-0"))
            #expect(tracker.checkPending(now: start + .seconds(30)).isEmpty)

            // A Job whose status counts a pod had one, even if the pod watch never saw it.
            var waiting = KubernetesRunTracker(
                jobs: [indexedJob(offset: 0, completions: 2)], pendingTimeout: .seconds(10), pendingPolicy: .wait,
                now: start)
            _ = waiting.podsSynced([], now: start)
            var counted = indexedJob(offset: 0, completions: 2)
            counted.status = try status(#"{"succeeded":1}"#)
            _ = waiting.jobChanged(counted)
            #expect(waiting.checkPending(now: start + .seconds(11)).isEmpty)
        }

        @Test func theEventsOfJobsWithoutPodsAreReadWithBackOffAndEachReasonReportedOnce() throws {
            let start = ContinuousClock.now
            var tracker = KubernetesRunTracker(
                jobs: [indexedJob(offset: 0, completions: 2), indexedJob(offset: 2, completions: 2)],
                pendingTimeout: .seconds(300), pendingPolicy: .wait, now: start)
            _ = tracker.podsSynced([pod("p", index: 0, offset: 2, phase: "Running")], now: start)
            #expect(tracker.checkPending(now: start + .seconds(1)).isEmpty, "the Job controller may still be at work")
            #expect(tracker.checkPending(now: start + .seconds(2)) == [.readCreationFailures(jobs: ["job-0"])])
            #expect(tracker.checkPending(now: start + .seconds(3)).isEmpty)
            #expect(tracker.checkPending(now: start + .seconds(4)) == [.readCreationFailures(jobs: ["job-0"])])
            #expect(tracker.checkPending(now: start + .seconds(7)).isEmpty, "the wait doubles")
            #expect(tracker.checkPending(now: start + .seconds(8)) == [.readCreationFailures(jobs: ["job-0"])])

            // A quota that is used up may admit the pods later: reported once, and the run waits.
            let quota = PodCreationFailure(
                job: "job-0",
                eventMessage: #"Error creating: pods "job-0-0-" is forbidden: exceeded quota: q, requested: pods=1"#)
            #expect(tracker.creationFailed([quota]) == [.cannotCreate(quota)])
            let sameReason = PodCreationFailure(
                job: "job-0",
                eventMessage: #"Error creating: pods "job-0-1-" is forbidden: exceeded quota: q, requested: pods=1"#)
            #expect(tracker.creationFailed([sameReason]).isEmpty, "one report per reason, whichever pod it names")
            #expect(tracker.creationFailed([PodCreationFailure(job: "job-2", eventMessage: "x")]).isEmpty, "has pods")

            // Once the Job has a pod, its events are not read again.
            _ = tracker.podChanged(pod("q", index: 0, offset: 0, phase: "Pending"), now: start + .seconds(20))
            #expect(tracker.checkPending(now: start + .seconds(100)).isEmpty)
        }

        @Test func podSecurityAdmissionStopsTheRunUnlessToldToWait() throws {
            let start = ContinuousClock.now
            let refused = PodCreationFailure(
                job: "job-0",
                eventMessage: #"Error creating: pods "job-0-0-" is forbidden: "#
                    + #"violates PodSecurity "restricted:latest": runAsNonRoot != true (pod or containers "#
                    + #""fetch-worker", "worker" must set "#
                    + "securityContext.runAsNonRoot=true), runAsUser=0 (pod must not set runAsUser=0)")
            var failing = KubernetesRunTracker(
                jobs: [indexedJob(offset: 0, completions: 2)], pendingTimeout: .seconds(300), pendingPolicy: .wait,
                now: start)
            _ = failing.podsSynced([], now: start)
            #expect(failing.checkPending(now: start + .seconds(2)) == [.readCreationFailures(jobs: ["job-0"])])
            #expect(failing.creationFailed([refused]) == [.cannotCreate(refused), .abortCannotCreate(refused)])
            #expect(failing.checkPending(now: start + .seconds(100)).isEmpty, "nothing more once stopping")

            var waiting = KubernetesRunTracker(
                jobs: [indexedJob(offset: 0, completions: 2)], pendingTimeout: .seconds(300), pendingPolicy: .wait,
                startFailurePolicy: .wait, now: start)
            _ = waiting.podsSynced([], now: start)
            #expect(waiting.creationFailed([refused, refused]) == [.cannotCreate(refused)])
            // Without the permission to read events, the Pending watchdog alone reports the Job.
            waiting.stopCreationReads()
            #expect(waiting.checkPending(now: start + .seconds(299)).isEmpty)
            #expect(waiting.checkPending(now: start + .seconds(301)) == [.noPods(job: "job-0", waited: .seconds(301))])
        }

        /// A pod the scheduler has not placed: PodScheduled=False, no node.
        private func unschedulable(_ name: String, index: Int) throws -> Pod {
            var pending = pod(name, index: index, offset: 0, phase: "Pending")
            pending.status?.conditions = try JSONDecoder().decode(
                [PodCondition].self,
                from: Data(#"[{"type":"PodScheduled","status":"False","reason":"Unschedulable"}]"#.utf8))
            return pending
        }

        private func placed(_ name: String, index: Int, phase: String) -> Pod {
            var placed = pod(name, index: index, offset: 0, phase: phase)
            placed.spec?.nodeName = "node-1"
            return placed
        }

        private func shrinks(_ actions: [KubernetesRunTracker.Action]) -> [KubernetesRunTracker.Action] {
            actions.filter { if case .shrink = $0 { true } else { false } }
        }

        @Test func unschedulablePodsShrinkTheirJobOncePerEpisode() throws {
            var tracker = KubernetesRunTracker(
                jobs: [indexedJob(offset: 0, completions: 6, parallelism: 4)], pendingTimeout: .seconds(10),
                pendingPolicy: .shrink)
            let start = ContinuousClock.now
            _ = tracker.podsSynced(
                [
                    placed("running", index: 0, phase: "Running"),
                    // On a node, still starting: it counts as placed.
                    placed("starting", index: 1, phase: "Pending"),
                    try unschedulable("waiting-2", index: 2), try unschedulable("waiting-3", index: 3),
                ], now: start)
            #expect(shrinks(tracker.checkPending(now: start + .seconds(9))).isEmpty)
            let actions = tracker.checkPending(now: start + .seconds(11))
            #expect(shrinks(actions) == [.shrink(job: "job-0", parallelism: 2)])
            #expect(actions.filter { if case .pending = $0 { true } else { false } }.count == 3, "still reported")
            #expect(tracker.jobs["job-0"]?.parallelism == 2)
            // Until the waiting pods are gone, no second shrink, even when a Job event still shows the old spec.
            _ = tracker.jobChanged(indexedJob(offset: 0, completions: 6, parallelism: 4))
            _ = tracker.podChanged(placed("starting", index: 1, phase: "Succeeded"), now: start + .seconds(12))
            #expect(shrinks(tracker.checkPending(now: start + .seconds(13))).isEmpty)

            // The controller deleted them; later the cluster loses more room: a new episode, a new shrink.
            _ = tracker.podDeleted(try unschedulable("waiting-2", index: 2))
            _ = tracker.podDeleted(try unschedulable("waiting-3", index: 3))
            #expect(tracker.checkPending(now: start + .seconds(14)).isEmpty)
            _ = tracker.jobChanged(indexedJob(offset: 0, completions: 6, parallelism: 2))
            _ = tracker.podChanged(try unschedulable("waiting-4", index: 4), now: start + .seconds(15))
            #expect(shrinks(tracker.checkPending(now: start + .seconds(26))) == [.shrink(job: "job-0", parallelism: 1)])
            #expect(shrinks(tracker.checkPending(now: start + .seconds(40))).isEmpty, "never below 1, never twice")
        }

        @Test func podsWaitingOnANodeOrUnderOtherPoliciesShrinkNothing() throws {
            let start = ContinuousClock.now
            // Pending on a node (an image pull, say): the scheduler is not the problem.
            var onNodes = KubernetesRunTracker(
                jobs: [indexedJob(offset: 0, completions: 2, parallelism: 2)], pendingTimeout: .seconds(1),
                pendingPolicy: .shrink)
            _ = onNodes.podsSynced(
                [placed("a", index: 0, phase: "Pending"), placed("b", index: 1, phase: "Pending")], now: start)
            let reported = onNodes.checkPending(now: start + .seconds(2))
            #expect(reported.count == 2 && shrinks(reported).isEmpty)
            // The wait policy reports unschedulable pods and changes nothing.
            var waiting = KubernetesRunTracker(
                jobs: [indexedJob(offset: 0, completions: 2, parallelism: 2)], pendingTimeout: .seconds(1),
                pendingPolicy: .wait)
            _ = waiting.podsSynced(
                [placed("a", index: 0, phase: "Running"), try unschedulable("b", index: 1)], now: start)
            let actions = waiting.checkPending(now: start + .seconds(2))
            #expect(actions.count == 1 && shrinks(actions).isEmpty)
        }

        /// A Pending pod whose worker container waits with `reason` and `message`.
        private func waiting(
            _ name: String, index: Int, reason: String, message: String, container: String = "worker"
        ) throws -> Pod {
            var pod = pod(name, index: index, offset: 0, phase: "Pending")
            let state = #"{"waiting":{"reason":"\#(reason)","message":"\#(message)"}}"#
            pod.status?.containerStatuses = try JSONDecoder().decode(
                [ContainerStatus].self,
                from: Data(#"[{"name":"\#(container)","image":"img:1","state":\#(state)}]"#.utf8))
            return pod
        }

        @Test func aMissingSecretStopsTheRunAtOnceAndIsReportedOnce() throws {
            var tracker = KubernetesRunTracker(
                jobs: [indexedJob(offset: 0, completions: 3)], pendingTimeout: .seconds(300), pendingPolicy: .wait)
            let creating = try waiting("a", index: 0, reason: "ContainerCreating", message: "")
            #expect(tracker.podChanged(creating, now: .now).isEmpty)
            let missing = try waiting(
                "a", index: 0, reason: "CreateContainerConfigError", message: #"secret \"s3\" not found"#)
            let failure = PodStartFailure(
                pod: "a", shard: 0, container: "worker", reason: "CreateContainerConfigError",
                message: #"secret "s3" not found"#, image: "img:1")
            #expect(tracker.podChanged(missing, now: .now) == [.cannotStart(failure), .abortCannotStart(failure)])
            #expect(tracker.podChanged(missing, now: .now).isEmpty, "reported once")
            // Another pod with the same cause is not reported again, nor does it abort twice.
            let other = try waiting(
                "b", index: 1, reason: "CreateContainerConfigError", message: #"secret \"s3\" not found"#)
            #expect(tracker.podChanged(other, now: .now).isEmpty)
        }

        @Test func theWaitPolicyReportsEachCauseOnceAndGoesOn() throws {
            var tracker = KubernetesRunTracker(
                jobs: [indexedJob(offset: 0, completions: 3)], pendingTimeout: .seconds(300), pendingPolicy: .wait,
                startFailurePolicy: .wait)
            let invalid = try waiting("a", index: 0, reason: "InvalidImageName", message: "bad")
            let actions = tracker.podChanged(invalid, now: .now)
            #expect(actions.count == 1)
            guard case .cannotStart(let failure)? = actions.first else {
                Issue.record("not a cannotStart action: \(actions)")
                return
            }
            #expect(failure.cause == .invalidImageName("img:1"))
            let again = try waiting("b", index: 1, reason: "InvalidImageName", message: "bad")
            #expect(tracker.podChanged(again, now: .now).isEmpty)
            let key = try waiting(
                "c", index: 2, reason: "CreateContainerConfigError", message: "couldn't find key k in Secret n/s")
            #expect(tracker.podChanged(key, now: .now).count == 1, "another cause, another report")
            #expect(tracker.livePods == 3)
        }

        @Test func imagePullsFailTheRunAfterAFewTries() throws {
            var tracker = KubernetesRunTracker(
                jobs: [indexedJob(offset: 0, completions: 1)], pendingTimeout: .seconds(300), pendingPolicy: .wait)
            let pull = try waiting("a", index: 0, reason: "ErrImagePull", message: "dial tcp: no such host")
            let backOff = try waiting("a", index: 0, reason: "ImagePullBackOff", message: "Back-off pulling image")
            // Try 1, its back-off, the same status seen again, try 2, its back-off: no report yet.
            for pod in [pull, backOff, backOff, pull, backOff] {
                #expect(tracker.podChanged(pod, now: .now).isEmpty)
            }
            let actions = tracker.podChanged(pull, now: .now)
            #expect(actions.count == 2, "the third try: \(actions)")
            guard case .abortCannotStart(let failure)? = actions.last else {
                Issue.record("no abort: \(actions)")
                return
            }
            #expect(failure.cause == .unpullableImage("img:1"))

            // A registry that says the image is not there is believed at once.
            var once = KubernetesRunTracker(
                jobs: [indexedJob(offset: 0, completions: 1)], pendingTimeout: .seconds(300), pendingPolicy: .wait)
            let notFound = try waiting("a", index: 0, reason: "ErrImagePull", message: "img:1: not found")
            #expect(once.podChanged(notFound, now: .now).count == 2)
        }

        /// A Job of the scheduler's launch: shards 3, 7 and 8 at attempt 2, as the session registers it.
        private func launchedJob() -> (KubernetesRunTracker, [AttemptID]) {
            var spec = JobSpec(
                template: PodTemplateSpec(
                    metadata: ObjectMeta(annotations: [KubernetesLabels.shards: "3,7-8"]),
                    spec: PodSpec(containers: [Container(name: "worker")])))
            spec.completionMode = "Indexed"
            spec.completions = 3
            var tracker = KubernetesRunTracker(jobs: [], pendingTimeout: .seconds(60), pendingPolicy: .wait)
            let ids = [3, 7, 8].map { AttemptID(shard: $0, number: 2) }
            tracker.register(Job(metadata: ObjectMeta(name: "wave-1"), spec: spec), attempts: ids)
            return (tracker, ids)
        }

        private func launchedPod(_ name: String, index: Int, phase: String, worker: String? = nil) throws -> Pod {
            var pod = Pod(
                metadata: ObjectMeta(
                    name: name, labels: ["batch.kubernetes.io/job-name": "wave-1"],
                    annotations: [KubernetesLabels.completionIndex: String(index), KubernetesLabels.shards: "3,7-8"]),
                spec: PodSpec(containers: [Container(name: "worker")]))
            pod.status = try JSONDecoder().decode(PodStatus.self, from: Data(#"{"phase":"\#(phase)"}"#.utf8))
            if let worker {
                pod.status?.containerStatuses = try JSONDecoder().decode(
                    [ContainerStatus].self,
                    from: Data(#"[{"name":"worker","state":{"terminated":{\#(worker)}}}]"#.utf8))
            }
            return pod
        }

        @Test func eachPodTellsTheSchedulerHowItsAttemptWent() throws {
            var (tracker, ids) = launchedJob()
            #expect(try tracker.podChanged(launchedPod("a", index: 0, phase: "Running"), now: .now) == [
                .attempt(.running(ids[0]))
            ])
            #expect(try tracker.podChanged(launchedPod("a", index: 0, phase: "Running"), now: .now).isEmpty)
            #expect(try tracker.podChanged(launchedPod("a", index: 0, phase: "Succeeded"), now: .now) == [
                .attempt(.exited(ids[0], .succeeded))
            ])

            // Over its memory limit: OOMKilled, which the scheduler answers with more memory.
            let oom = try launchedPod("b", index: 1, phase: "Failed", worker: #""exitCode":137,"reason":"OOMKilled""#)
            let actions = tracker.podChanged(oom, now: .now)
            #expect(actions == [
                .fetchLogs(
                    pod: "b", container: "worker", shard: 7,
                    reason: "container worker exited with code 137 (OOMKilled)", attempt: ids[1], end: .oomKilled)
            ])
            #expect(
                tracker.recordFailure(attempt: ids[1], shard: 7, end: .oomKilled, detail: "pod b: OOMKilled")
                    == [.attempt(.exited(ids[1], .oomKilled("pod b: OOMKilled")))])

            // A crash in the step (SIGILL from a fatal error), and an exit no attempt can change.
            #expect(
                KubernetesRunTracker.failure(
                    of: try launchedPod("c", index: 2, phase: "Failed", worker: #""exitCode":132"#)
                ).end == .crashed)
            #expect(
                KubernetesRunTracker.failure(
                    of: try launchedPod("c", index: 2, phase: "Failed", worker: #""exitCode":2"#)
                ).end == .misconfigured)
            #expect(
                KubernetesRunTracker.failure(
                    of: try launchedPod("c", index: 2, phase: "Failed", worker: #""exitCode":137,"reason":"Error""#)
                ).end == .failed)

            // Evicted: a disruption, with no log to read.
            var evicted = try launchedPod("c", index: 2, phase: "Failed")
            evicted.status?.conditions = try JSONDecoder().decode(
                [PodCondition].self,
                from: Data(#"[{"type":"DisruptionTarget","status":"True","reason":"EvictionByEvictionAPI"}]"#.utf8))
            #expect(tracker.podChanged(evicted, now: .now) == [
                .disrupted(pod: "c", shard: 8, reason: "EvictionByEvictionAPI"),
                .attempt(.exited(ids[2], .disrupted("EvictionByEvictionAPI"))),
            ])
            #expect(tracker.liveAttempts.isEmpty)
        }

        @Test func cancelledAttemptsLoseTheirPodsOrTheirJobAndEndCancelled() throws {
            var (tracker, ids) = launchedJob()
            _ = try tracker.podChanged(launchedPod("a", index: 0, phase: "Running"), now: .now)
            // One attempt of three: its pod goes; the index fails, and nothing replaces it.
            #expect(tracker.cancel([ids[0]]) == [.deletePod("a")])
            #expect(try tracker.podChanged(launchedPod("a", index: 0, phase: "Failed"), now: .now) == [
                .attempt(.exited(ids[0], .cancelled))
            ])
            // A pod that appears for a cancelled attempt is deleted as it appears.
            #expect(tracker.cancel([ids[1]]).isEmpty)
            #expect(try tracker.podChanged(launchedPod("b", index: 1, phase: "Pending"), now: .now) == [.deletePod("b")])
            #expect(try tracker.podDeleted(launchedPod("b", index: 1, phase: "Pending")) == [
                .attempt(.exited(ids[1], .cancelled))
            ])
            // The last live attempt: the whole Job goes, and its attempts end when the Job does.
            #expect(tracker.cancel([ids[2]]) == [.deleteJob("wave-1")])
            let deleted = Job(
                metadata: ObjectMeta(name: "wave-1"), spec: JobSpec(template: PodTemplateSpec(spec: PodSpec(containers: []))))
            #expect(tracker.jobDeleted(deleted) == [
                .jobFinished(name: "wave-1", succeeded: false, reason: "deleted"),
                .attempt(.exited(ids[2], .cancelled)),
            ])
        }

        @Test func aJobFailedByThePodFailurePolicyEndsItsOtherAttemptsAsMisconfigured() throws {
            var (tracker, ids) = launchedJob()
            _ = try tracker.podChanged(launchedPod("a", index: 0, phase: "Running"), now: .now)
            var job = Job(metadata: ObjectMeta(name: "wave-1"), spec: JobSpec(template: PodTemplateSpec(spec: PodSpec(containers: []))))
            job.status = try status(
                #"{"failedIndexes":"1","conditions":[{"type":"FailureTarget","status":"True","#
                    + #""reason":"PodFailurePolicy","message":"exit code 127"}]}"#)
            #expect(tracker.jobChanged(job).isEmpty)
            // Its running pod is stopped by the Job: the attempt ends as the Job did, not as a failure to retry.
            var stopped = try launchedPod("a", index: 0, phase: "Failed", worker: #""exitCode":143"#)
            stopped.metadata.deletionTimestamp = "2026-12-06T10:00:00Z"
            #expect(tracker.podChanged(stopped, now: .now) == [
                .attempt(.exited(ids[0], .misconfigured("Job wave-1 failed: PodFailurePolicy: exit code 127")))
            ])
            job.status?.conditions?.append(
                try JSONDecoder().decode(
                    JobCondition.self,
                    from: Data(#"{"type":"Failed","status":"True","reason":"PodFailurePolicy","message":"exit code 127"}"#.utf8)))
            let ended = tracker.jobChanged(job).filter { if case .attempt = $0 { true } else { false } }
            let expected: [KubernetesRunTracker.Action] = [ids[1], ids[2]].map {
                .attempt(.exited($0, .misconfigured("Job wave-1 failed: PodFailurePolicy: exit code 127")))
            }
            #expect(ended == expected)
        }

        @Test func aShardThatFailedInOneJobAndCompletedInTheNextHasNotFailed() throws {
            var (tracker, _) = launchedJob()
            var first = Job(metadata: ObjectMeta(name: "wave-1"), spec: JobSpec(template: PodTemplateSpec(spec: PodSpec(containers: []))))
            first.status = try status(
                #"{"completedIndexes":"0,2","failedIndexes":"1","conditions":[{"type":"Failed","status":"True"}]}"#)
            _ = tracker.jobChanged(first)
            #expect(tracker.failedShards(among: [3, 7, 8]).keys.sorted() == [7])
            var spec = JobSpec(
                template: PodTemplateSpec(
                    metadata: ObjectMeta(annotations: [KubernetesLabels.shards: "7"]),
                    spec: PodSpec(containers: [Container(name: "worker")])))
            spec.completionMode = "Indexed"
            spec.completions = 1
            var rerun = Job(metadata: ObjectMeta(name: "wave-2"), spec: spec)
            tracker.register(rerun, attempts: [AttemptID(shard: 7, number: 3)])
            rerun.status = try status(#"{"completedIndexes":"0","conditions":[{"type":"Complete","status":"True"}]}"#)
            _ = tracker.jobChanged(rerun)
            #expect(tracker.failedShards(among: [3, 7, 8]).isEmpty)
        }

        @Test func launchesAreBoundToTheJobsAnEarlierDriverLeftRunning() {
            var tracker = KubernetesRunTracker(
                jobs: [indexedJob(offset: 0, completions: 4)], pendingTimeout: .seconds(60), pendingPolicy: .wait)
            let ids = [1, 2, 9].map { AttemptID(shard: $0, number: 1) }
            #expect(tracker.bind(ids) == [ids[2]], "shard 9 is in no running Job")
            #expect(tracker.liveAttempts == [ids[0], ids[1]])
        }

        @Test func aJobDeletedBeforeItFinishedFailsItsShards() {
            var tracker = KubernetesRunTracker(
                jobs: [indexedJob(offset: 0, completions: 3)], pendingTimeout: .seconds(60), pendingPolicy: .wait)
            #expect(tracker.jobsSynced([]) == [.jobFinished(name: "job-0", succeeded: false, reason: "deleted")])
            #expect(tracker.failedShards(among: [0, 1, 2]).count == 3)
        }

        @Test func completionIndexSets() {
            #expect(CompletionIndexes.parse("1,3-5,7") == [1, 3, 4, 5, 7])
            #expect(CompletionIndexes.parse("2,3") == [2, 3])
            #expect(CompletionIndexes.parse("") == [])
            #expect(CompletionIndexes.parse(nil) == [])
        }
    }
}
