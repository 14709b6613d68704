import FanoutCore
@testable import FanoutKubernetes
import FanoutStorage
import FanoutTestSteps
import FanoutTestSupport
import Foundation
import Testing

extension KubernetesTests {
    @Suite struct KubernetesBackendTests {
        /// A slow run: 100 ms a file, one file in flight, results stored every 3 files.
        private func slowRun(
            _ input: InputFolder, options: KubernetesBackend.Options, client: KubernetesClient, shards: Int = 2,
            log: EventLog
        ) async throws -> MapRun<Int> {
            var options = options
            options.filesInFlight = 1
            let fanout = Fanout(
                options: RunOptions(
                    backend: KubernetesBackend(options: options, client: client), sharding: .shards(shards),
                    state: input.state, batching: SegmentBatching(maxRecords: 3, maxDelay: .milliseconds(100)),
                    onEvent: log.observer))
            return try await fanout.map(TestSteps.slowByteCount, over: Input(input.path))
        }

        /// Waits until a worker of the run is Running and has stored results, and returns its pod's name.
        private func podMidShard(
            _ client: KubernetesClient, _ run: MapRun<Int>, _ input: InputFolder
        ) async throws
            -> String
        {
            var name = ""
            try await eventually(.seconds(60), "a worker in the middle of its shard") {
                let stored = (try? FileManager.default.subpathsOfDirectory(atPath: input.state)) ?? []
                guard stored.contains(where: { $0.contains("/segments/shard-") }) else { return false }
                let running = try await runPods(client, run.id).first { $0.phase == "Running" }
                name = running?.metadata.name ?? ""
                return running != nil
            }
            return name
        }

        @Test func aThousandFilesOverTwentyShardsEachCountOnce() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                let input = try InputFolder.make(count: 1000)
                defer { input.remove() }
                let log = EventLog()
                let backend = KubernetesBackend(
                    options: try testOptions(namespace: namespace), client: client)
                // Without backups, whose Jobs depend on how the shards' times happen to spread.
                var runOptions = RunOptions(backend: backend, sharding: .shards(20), onEvent: log.observer)
                runOptions.backups = nil
                let fanout = Fanout(options: runOptions)
                let run = try await fanout.map(TestSteps.byteCount, over: Input(input.path))
                let outcomes = try await collectOutcomes(run)
                #expect(
                    outcomes.mapValues(\.value) == InputFolder.expectedSizes(count: 1000).mapValues { Optional($0) })
                #expect(run.summary?.succeeded == 1000)

                // One Indexed Job ran the 20 shards; the API saw as many requests as the client counted.
                let jobs = try await client.list(Job.self, labelSelector: "fanout.dev/run=\(run.id)").items
                #expect(jobs.count == 1)
                #expect(jobs.first?.spec?.completions == 20)
                #expect(jobs.first?.spec?.completionMode == "Indexed")
                #expect(jobs.first?.succeeded == true)
                let architecture = try LinuxExecutable(path: try WorkerBinary.path).architecture
                #expect(jobs.first?.spec?.template.spec.nodeSelector == ["kubernetes.io/arch": architecture])
                let server = try await KubeTestServer.requests()
                // All but the list just above and the namespace check before the run was stored.
                #expect(log.apiRequests == server.values.reduce(0, +) - 2)
                #expect(server["get namespaces"] == 1)
                #expect(server["create jobs"] == 1)
                #expect(server["watch jobs"] == 1)
                #expect(server["watch pods"] == 1)
            }
        }

        @Test func anS3InputWithTheExecutableFromAPresignedURL() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                try await withTemporaryBucket { bucket in
                    // Temporary credentials (SSO, an assumed role): the presigned URL lasts only their session.
                    let s3 = try makeS3Client {
                        $0.credentials = .chain(
                            StaticCredentialProvider(
                                accessKeyID: "driver-key", secretAccessKey: "driver-secret",
                                sessionToken: "driver-session"))
                    }
                    let store = S3ObjectStore(client: s3, bucket: bucket)
                    let keys = (0..<200).map { String(format: "in/f%05d.txt", $0) }
                    try await putObjects(keys, into: store) { key in Data(repeating: 65, count: key.count % 7 + 1) }
                    // The pods get S3 credentials from a Secret, by reference.
                    _ = try await client.create(
                        Secret(
                            metadata: ObjectMeta(name: "s3-credentials"),
                            stringData: [
                                "AWS_ACCESS_KEY_ID": "pod-access-key-id", "AWS_SECRET_ACCESS_KEY": "pod-secret-value",
                            ]))
                    let log = EventLog()
                    var options = try testOptions(namespace: namespace)
                    options.secretEnvironment = ["s3-credentials"]
                    options.environment = [
                        "AWS_ENDPOINT_URL": try TestEnvironment.s3Endpoint.absoluteString, "AWS_REGION": "us-east-1",
                    ]
                    let reported = EventLog()
                    let fanout = Fanout(
                        options: RunOptions(
                            backend: KubernetesBackend(options: options, client: client), sharding: .shards(4),
                            state: "s3://\(bucket)/.fanout/", onEvent: { log.record($0); reported.record($0) }),
                        s3: s3)
                    let run = try await fanout.map(TestSteps.byteCount, over: Input("s3://\(bucket)/in/"))
                    let outcomes = try await collectOutcomes(run)
                    #expect(outcomes.count == 200)
                    #expect(outcomes.values.allSatisfy { $0.value == $0.key.count % 7 + 1 })

                    let job = try #require(
                        try await client.list(Job.self, labelSelector: "fanout.dev/run=\(run.id)").items.first)
                    let fetch = try #require(job.spec?.template.spec.initContainers?.first)
                    let url = try #require(fetch.env?.first { $0.name == "FANOUT_EXECUTABLE_URL" }?.value)
                    #expect(url.hasPrefix(try TestEnvironment.s3Endpoint.absoluteString + "/\(bucket)/.fanout/v1/bin/"))
                    #expect(url.contains("X-Amz-Signature="))
                    let manifest = String(decoding: try JSONEncoder().encode(job), as: UTF8.self)
                    #expect(!manifest.contains("pod-secret-value") && !manifest.contains("pod-access-key-id"))
                    #expect(
                        job.spec?.template.spec.containers.first?.envFrom?.first?.secretRef?.name == "s3-credentials")

                    // A second run reuses the uploaded executable.
                    let again = try await fanout.map(TestSteps.byteCount, over: Input("s3://\(bucket)/in/"))
                    _ = try await collectOutcomes(again)
                    let shipped = log.all.compactMap { event -> Bool? in
                        if case .executableShipped(_, _, let uploaded) = event { return uploaded }
                        return nil
                    }
                    #expect(shipped == [true], "the cached second run ships nothing; got \(shipped)")
                    #expect(url.contains("X-Amz-Security-Token=driver-session"))
                    #expect(
                        reported.notices.filter {
                            $0.contains("session token") && $0.contains("while that session lasts")
                        }.count == 1, "\(reported.notices)")
                }
            }
        }

        @Test func aKilledPodLosesNothingAndCountsNothingTwice() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                let input = try InputFolder.make(count: 40)
                defer { input.remove() }
                let log = EventLog()
                let run = try await slowRun(
                    input, options: try testOptions(namespace: namespace), client: client, log: log)
                let consumer = Task { try await collectOutcomes(run) }
                let victim = try await podMidShard(client, run, input)
                try await KubeTestServer.kill(pod: victim, namespace: namespace)

                let outcomes = try await consumer.value
                #expect(outcomes.mapValues(\.value) == InputFolder.expectedSizes(count: 40).mapValues { Optional($0) })
                let failure = log.failedPods.first { $0.pod == victim }
                #expect(failure?.reason.contains("137") == true, "\(log.all)")
            }
        }

        @Test func aDisruptedPodIsReplacedWithoutUsingARetry() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                let input = try InputFolder.make(count: 40)
                defer { input.remove() }
                let log = EventLog()
                let fanoutRetries = 0
                var options = try testOptions(namespace: namespace)
                options.filesInFlight = 1
                let fanout = Fanout(
                    options: RunOptions(
                        backend: KubernetesBackend(options: options, client: client), sharding: .shards(2),
                        state: input.state, retries: fanoutRetries,
                        batching: SegmentBatching(maxRecords: 3, maxDelay: .milliseconds(100)), onEvent: log.observer))
                let run = try await fanout.map(TestSteps.slowByteCount, over: Input(input.path))
                let consumer = Task { try await collectOutcomes(run) }
                let victim = try await podMidShard(client, run, input)
                try await KubeTestServer.disrupt(pod: victim, namespace: namespace)

                // With no retries at all, only the Ignore rule for DisruptionTarget lets the shard finish.
                let outcomes = try await consumer.value
                #expect(outcomes.mapValues(\.value) == InputFolder.expectedSizes(count: 40).mapValues { Optional($0) })
                #expect(log.all.contains { if case .podDisrupted(victim, _, _) = $0 { true } else { false } })
                #expect(log.failedPods.isEmpty)
            }
        }

        /// A run of 10 files over 2 shards while the cluster holds its pods back (the caller turned a fault on),
        /// with `pendingTimeout` and `policy`: the run, the backend's events, and what the caller was told.
        private func heldBackRun(
            namespace: String, client: KubernetesClient, input: InputFolder, pendingTimeout: Duration,
            policy: KubernetesBackend.Options.PendingPolicy
        ) async throws -> (run: MapRun<Int>, log: EventLog, reported: EventLog) {
            let log = EventLog()
            let reported = EventLog()
            var options = try testOptions(namespace: namespace)
            options.pendingTimeout = pendingTimeout
            options.pendingPolicy = policy
            let fanout = Fanout(
                options: RunOptions(
                    backend: KubernetesBackend(options: options, client: client), sharding: .shards(2),
                    onEvent: { log.record($0); reported.record($0) }))
            return (try await fanout.map(TestSteps.byteCount, over: Input(input.path)), log, reported)
        }

        /// Nothing of the run is left on the cluster.
        private func expectNothingLeft(_ client: KubernetesClient, _ runID: String) async throws {
            #expect(try await client.list(Job.self, labelSelector: "fanout.dev/run=\(runID)").items.isEmpty)
            #expect(try await runPods(client, runID).isEmpty)
        }

        @Test func podsPendingTooLongFailTheRunAndLeaveNothing() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                let input = try InputFolder.make(count: 10)
                defer { input.remove() }
                try await KubeTestServer.holdScheduling(true)
                let (run, log, _) = try await heldBackRun(
                    namespace: namespace, client: client, input: input, pendingTimeout: .seconds(1), policy: .fail)
                let error = await #expect(throws: KubernetesError.self) { _ = try await collectOutcomes(run) }
                try await KubeTestServer.holdScheduling(false)
                #expect(error?.code == .podsPending)
                #expect(error?.message.contains("Insufficient cpu") == true, "\(String(describing: error))")
                #expect(
                    log.all.contains {
                        if case .podPending(_, _, _, let message) = $0 {
                            message.contains("Insufficient cpu")
                        } else {
                            false
                        }
                    })
                try await expectNothingLeft(client, run.id)
            }
        }

        @Test(.timeLimit(.minutes(1)))
        func aJobTheClusterCreatesNoPodsForFailsTheRunAndLeavesNothing() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                let input = try InputFolder.make(count: 10)
                defer { input.remove() }
                try await KubeTestServer.refusePods(true)
                let (run, log, reported) = try await heldBackRun(
                    namespace: namespace, client: client, input: input, pendingTimeout: .seconds(1), policy: .fail)
                let error = await #expect(throws: KubernetesError.self) { _ = try await collectOutcomes(run) }
                try await KubeTestServer.refusePods(false)
                #expect(error?.code == .podsPending)
                #expect(error?.message.contains("has created no pods") == true, "\(String(describing: error))")
                #expect(error?.hint?.contains("kubectl describe job fanout-") == true, "\(String(describing: error))")
                #expect(
                    reported.notices.contains {
                        $0.contains("has created no pods") && $0.contains("kubectl -n \(namespace) describe job")
                    }, "\(reported.notices)")
                #expect(log.all.contains { if case .jobCreatedNoPods = $0 { true } else { false } })
                try await expectNothingLeft(client, run.id)
            }
        }

        @Test(.timeLimit(.minutes(1)))
        func aJobWithoutPodsIsReportedAndTheRunWaits() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                let input = try InputFolder.make(count: 10)
                defer { input.remove() }
                try await KubeTestServer.refusePods(true)
                try await KubeTestServer.resetRequests()
                let (run, log, _) = try await heldBackRun(
                    namespace: namespace, client: client, input: input, pendingTimeout: .milliseconds(500), policy: .wait)
                let consumer = Task { try await collectOutcomes(run) }
                _ = try await log.wait(for: "jobCreatedNoPods") {
                    if case .jobCreatedNoPods = $0 { true } else { false }
                }
                // Noticing it took no request beyond creating the Job and watching, and reading its events to say why.
                let requests = try await KubeTestServer.requests()
                let expected: Set = [
                    "get namespaces", "list jobs", "create jobs", "list pods", "watch jobs", "watch pods",
                    "list events",
                ]
                #expect(Set(requests.keys).isSubset(of: expected), "\(requests)")
                try await KubeTestServer.refusePods(false)
                #expect(try await consumer.value.count == 10)
                #expect(log.all.filter { if case .jobCreatedNoPods = $0 { true } else { false } }.count == 1)
            }
        }

        @Test func podsPendingTooLongAreReportedAndTheRunWaits() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                let input = try InputFolder.make(count: 10)
                defer { input.remove() }
                try await KubeTestServer.holdScheduling(true)
                let (run, log, reported) = try await heldBackRun(
                    namespace: namespace, client: client, input: input, pendingTimeout: .milliseconds(500), policy: .wait)
                let consumer = Task { try await collectOutcomes(run) }
                let pending = try await log.wait(for: "podPending") {
                    if case .podPending = $0 { true } else { false }
                }
                guard case .podPending(_, let shard, let waited, let message) = pending else {
                    Issue.record("not a podPending event: \(pending)")
                    return
                }
                #expect(shard != nil)
                #expect(waited >= .milliseconds(500))
                #expect(message.contains("0/3 nodes are available"))
                // The caller sees the pods waiting, and why.
                #expect(reported.workerCounts.contains { $0.running == 0 && $0.pending > 0 })
                #expect(reported.notices.contains { $0.contains("Pending for") && $0.contains("0/3 nodes are available") })
                try await KubeTestServer.holdScheduling(false)
                #expect(try await consumer.value.count == 10)
            }
        }

        @Test func podsPendingTooLongShrinkTheJobToThePodsRunning() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                let input = try InputFolder.make(count: 60)
                defer { input.remove() }
                // Room for 2 of the 4 pods: 2 run, 2 wait for a node that never comes.
                try await KubeTestServer.limitScheduling(capacity: 2)
                let log = EventLog()
                var options = try testOptions(namespace: namespace)
                options.pendingTimeout = .milliseconds(500)
                options.pendingPolicy = .shrink
                options.filesInFlight = 1
                let reported = EventLog()
                let fanout = Fanout(
                    options: RunOptions(
                        backend: KubernetesBackend(options: options, client: client), sharding: .shards(4),
                        onEvent: { log.record($0); reported.record($0) }))
                let run = try await fanout.map(TestSteps.slowByteCount, over: Input(input.path))
                let outcomes: [String: FileOutcome<Int>]
                do {
                    outcomes = try await collectOutcomes(run)
                } catch {
                    try await KubeTestServer.holdScheduling(false)
                    throw error
                }
                try await KubeTestServer.holdScheduling(false)

                // Every file counted once, by the pods the cluster could run.
                #expect(outcomes.mapValues(\.value) == InputFolder.expectedSizes(count: 60).mapValues { Optional($0) })
                let shrinks = log.all.filter { if case .shrunk = $0 { true } else { false } }
                let job = try #require(
                    try await client.list(Job.self, labelSelector: "fanout.dev/run=\(run.id)").items.first)
                let name = try #require(job.metadata.name)
                #expect(shrinks == [.shrunk(job: name, parallelism: 2)], "\(log.all)")
                #expect(job.spec?.parallelism == 2)
                #expect(job.succeeded)
                #expect(log.all.contains { if case .podPending = $0 { true } else { false } })
                // The pods removed while waiting were no failures, and none is left waiting.
                #expect(log.failedPods.isEmpty)
                #expect(try await runPods(client, run.id).allSatisfy { $0.phase == "Succeeded" })
                #expect(
                    reported.notices.contains { $0.contains("Job \(name)") && $0.contains("now runs 2 pods at once") })
                // One patch, whatever the number of files.
                #expect(try await KubeTestServer.requests()["patch jobs"] == 1)
            }
        }

        @Test func aDroppedWatchAndAnExpiredVersionAreSurvived() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                let input = try InputFolder.make(count: 30)
                defer { input.remove() }
                let log = EventLog()
                let run = try await slowRun(
                    input, options: try testOptions(namespace: namespace), client: client, log: log)
                let consumer = Task { try await collectOutcomes(run) }
                _ = try await podMidShard(client, run, input)
                try await KubeTestServer.resetRequests()
                try await KubeTestServer.dropWatches(abrupt: true)
                try await Task.sleep(for: .milliseconds(300))
                try await KubeTestServer.expire()
                try await KubeTestServer.dropWatches()

                let outcomes = try await consumer.value
                #expect(outcomes.mapValues(\.value) == InputFolder.expectedSizes(count: 30).mapValues { Optional($0) })
                let server = try await KubeTestServer.requests()
                #expect((server["watch jobs"] ?? 0) >= 3, "\(server)")
                #expect((server["watch pods"] ?? 0) >= 3, "\(server)")
                #expect(server["list jobs"] == 1, "listed again after the 410: \(server)")
                #expect(server["list pods"] == 1, "listed again after the 410: \(server)")
            }
        }

        @Test func cancellingLeavesNoJobsAndNoPods() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                let input = try InputFolder.make(count: 60)
                defer { input.remove() }
                let log = EventLog()
                let run = try await slowRun(
                    input, options: try testOptions(namespace: namespace), client: client, log: log)
                let consumer = Task { try await collectOutcomes(run) }
                _ = try await podMidShard(client, run, input)
                consumer.cancel()
                let cleaned = try await log.wait(for: "cleanedUp") {
                    if case .cleanedUp = $0 { true } else { false }
                }
                #expect(cleaned == .cleanedUp(reason: "cancelled", remainingPods: 0))
                #expect(try await client.list(Job.self, labelSelector: "fanout.dev/run=\(run.id)").items.isEmpty)
                #expect(try await runPods(client, run.id).isEmpty)
            }
        }

        /// A run of 20 files that tolerates every failure, on backend options changed by `configure`: its id, its
        /// outcomes by key, and the backend's events.
        private func failingRun(
            namespace: String, client: KubernetesClient, shards: Int, retries: Int, reported: EventLog? = nil,
            configure: (inout KubernetesBackend.Options) throws -> Void
        ) async throws -> (runID: String, outcomes: [String: FileOutcome<Int>], log: EventLog) {
            let input = try InputFolder.make(count: 20)
            defer { input.remove() }
            let log = EventLog()
            var options = try testOptions(namespace: namespace)
            try configure(&options)
            let fanout = Fanout(
                options: RunOptions(
                    backend: KubernetesBackend(options: options, client: client), sharding: .shards(shards),
                    tolerance: .fraction(1), retries: retries, onEvent: { log.record($0); reported?.record($0) }))
            let run = try await fanout.map(TestSteps.byteCount, over: Input(input.path))
            let outcomes = try await collectOutcomes(run)
            #expect(outcomes.count == 20)
            return (run.id, outcomes, log)
        }

        @Test func aFailedShardReportsItsLog() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                let reported = EventLog()
                let (_, outcomes, log) = try await failingRun(
                    namespace: namespace, client: client, shards: 2, retries: 1, reported: reported
                ) { options in
                    // The image "contains" the worker; shard 1's pods crash before running it: index 1 of the first
                    // Job, and the only index of the Job that runs it again.
                    options.shipExecutable = false
                    options.command = [
                        "sh", "-c",
                        #"if [ "$FANOUT_WORKER_SHARDS" = 1 ] || [ "$FANOUT_WORKER_SHARDS$JOB_COMPLETION_INDEX" = 0-11 ]; then "#
                            + #"echo "poisoned shard 1" >&2; exit 3; fi; exec "$0""#,
                        try WorkerBinary.path,
                    ]
                }
                let failed = outcomes.values.filter { $0.failure != nil }
                #expect(failed.count == 10)
                #expect(
                    failed.allSatisfy { $0.failure?.message.contains("poisoned shard 1") == true },
                    "\(failed.first.map { "\($0.failure!)" } ?? "")")
                #expect(failed.allSatisfy { $0.failure?.message.contains("exited with code 3") == true })
                // Two attempts (retries 1), each reported with its log.
                let shardOne = log.failedPods.filter { $0.shard == 1 }
                #expect(shardOne.count == 2)
                #expect(shardOne.allSatisfy { $0.logTail.contains("poisoned shard 1") })
                #expect(log.all.contains { if case .finished([1], _) = $0 { true } else { false } })
                // The caller is told too, with the log lines.
                #expect(reported.notices.filter { $0.hasPrefix("shard 1: pod") && $0.contains("poisoned shard 1") }.count == 2)
            }
        }

        @Test func aWorkerThatCanNeverSucceedFailsItsShardWithoutRetries() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                let (runID, outcomes, log) = try await failingRun(
                    namespace: namespace, client: client, shards: 2, retries: 3
                ) { options in
                    // Every worker is told to run a step its executable does not have: it exits 2.
                    options.environment["FANOUT_WORKER_STEP"] = "no-such-step"
                }
                #expect(outcomes.values.allSatisfy { $0.failure?.message.contains("exited with code 2") == true })
                // One attempt per shard despite three retries: the FailIndex rule matched the worker's status.
                #expect(log.failedPods.count == 2, "\(log.failedPods)")
                #expect(log.failedPods.allSatisfy { $0.logTail.contains("no-such-step") })
                #expect(log.all.contains { if case .finished([0, 1], _) = $0 { true } else { false } })
                let jobs = try await client.list(Job.self, labelSelector: "fanout.dev/run=\(runID)").items
                let job = try #require(jobs.first)
                #expect(job.status?.failedIndexes == "0,1")
            }
        }

        @Test func aProgramTheImageCannotStartFailsTheJobAtOnce() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                let (_, outcomes, log) = try await failingRun(
                    namespace: namespace, client: client, shards: 4, retries: 3
                ) { options in
                    // The container runtime cannot start the program (StartError, exit code 128), as for an image
                    // without the program or without its loader.
                    options.shipExecutable = false
                    options.command = ["/nonexistent/fanout-worker"]
                }
                #expect(outcomes.values.allSatisfy { $0.failure != nil })
                // No index was retried: the first such exit failed the whole Job.
                #expect(log.failedPods.count <= 4, "\(log.failedPods)")
                #expect(
                    log.all.contains {
                        guard case .jobFinished(_, false, let reason?) = $0 else { return false }
                        return reason.hasPrefix("PodFailurePolicy")
                    }, "\(log.all)")
                #expect(log.all.contains { if case .finished([0, 1, 2, 3], _) = $0 { true } else { false } })
            }
        }

        @Test func aFileThatIsNotALinuxProgramIsRefusedBeforeAnyJob() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                let input = try InputFolder.make(count: 5)
                defer { input.remove() }
                let folder = try ScratchFolder()
                defer { folder.remove() }
                let log = EventLog()
                var options = try testOptions(namespace: namespace)
                options.executable = try folder.write("worker.sh", "#!/bin/sh\nexit 0\n", executable: true)
                try await KubeTestServer.resetRequests()
                let fanout = Fanout(
                    options: RunOptions(backend: KubernetesBackend(options: options, client: client), onEvent: log.observer))
                let error = await #expect(throws: (any Error).self) {
                    let run = try await fanout.map(TestSteps.byteCount, over: Input(input.path))
                    _ = try await collectOutcomes(run)
                }
                #expect("\(String(describing: error))".contains("is not an ELF executable"))
                #expect(try await KubeTestServer.requests()["create jobs"] == nil)
            }
        }

        @Test func aLocalInputOrStateIsRefusedBeforeAnything() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                let input = try InputFolder.make(count: 5)
                defer { input.remove() }
                let log = EventLog()
                var options = try testOptions(namespace: namespace)
                options.podsShareLocalFiles = false
                try await KubeTestServer.resetRequests()
                let backend = KubernetesBackend(options: options, client: client)
                // No state prefix: refused as such, before the backend is asked anything.
                let unset = await #expect(throws: RunError.self) {
                    _ = try await Fanout(options: RunOptions(backend: backend, onEvent: log.observer), environment: [:])
                        .map(TestSteps.byteCount, over: Input(input.path))
                }
                #expect(unset?.code == .invalidInput)
                #expect(unset?.message.contains("FANOUT_STATE") == true, "\(String(describing: unset))")

                let local = await #expect(throws: KubernetesError.self) {
                    let run = try await Fanout(options: RunOptions(backend: backend, state: input.state, onEvent: log.observer))
                        .map(TestSteps.byteCount, over: Input(input.path))
                    _ = try await collectOutcomes(run)
                }
                #expect(local?.code == .invalidConfiguration)
                #expect(local?.message.contains("the input \(input.path)") == true, "\(String(describing: local))")
                #expect(local?.hint?.contains("s3:// or gs:// input and --state") == true)
                #expect(local?.hint?.contains("--backend local or --backend processes") == true)

                // An S3 input with a local state prefix: the same.
                try await withTemporaryBucket { bucket in
                    let s3 = try makeS3Client()
                    let store = S3ObjectStore(client: s3, bucket: bucket)
                    try await putObjects(["in/a.txt"], into: store) { _ in Data("a".utf8) }
                    let fanout = Fanout(options: RunOptions(backend: backend, state: input.state, onEvent: log.observer), s3: s3)
                    let state = await #expect(throws: KubernetesError.self) {
                        let run = try await fanout.map(TestSteps.byteCount, over: Input("s3://\(bucket)/in/"))
                        _ = try await collectOutcomes(run)
                    }
                    #expect(state?.code == .invalidConfiguration)
                    #expect(
                        state?.message.contains("the state \(input.state)") == true,
                        "\(String(describing: state))")
                }
                // Nothing was shipped, and no Job created.
                #expect(log.all.isEmpty, "\(log.all)")
                #expect(try await KubeTestServer.requests()["create jobs"] == nil)
            }
        }

        @Test func aClusterRejectingPerIndexBackoffIsToldToRunAJobPerShard() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                let input = try InputFolder.make(count: 5)
                defer { input.remove() }
                try await KubeTestServer.fault(
                    status: 422, verb: "create", resource: "jobs",
                    message: #"Job.batch "x" is invalid: spec.podFailurePolicy.rules[1].action: Unsupported value: "#
                        + #""FailIndex""#)
                let fanout = Fanout(
                    options: RunOptions(
                        backend: KubernetesBackend(
                            options: try testOptions(namespace: namespace), client: client)))
                let error = await #expect(throws: KubernetesError.self) {
                    let run = try await fanout.map(TestSteps.byteCount, over: Input(input.path))
                    _ = try await collectOutcomes(run)
                }
                #expect(error?.code == .invalid)
                #expect(
                    error?.hint?.contains("older than 1.29: run with --job-per-shard (a Job per shard") == true,
                    "\(String(describing: error))")
                #expect(try await client.list(Job.self).items.isEmpty)
            }
        }

        @Test func apiRequestsDoNotGrowWithTheNumberOfFiles() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                var requests: [Int: Int] = [:]
                for count in [100, 10_000] {
                    let input = try InputFolder.make(count: count)
                    defer { input.remove() }
                    let log = EventLog()
                    try await KubeTestServer.resetRequests()
                    let backend = KubernetesBackend(
                        options: try testOptions(namespace: namespace), client: client)
                    // Without backups, whose Jobs depend on how the shards' times happen to spread.
                    var runOptions = RunOptions(backend: backend, sharding: .shards(4), onEvent: log.observer)
                    runOptions.backups = nil
                    let fanout = Fanout(options: runOptions)
                    let run = try await fanout.map(TestSteps.byteCount, over: Input(input.path))
                    #expect(try await collectOutcomes(run).count == count)
                    requests[count] = log.apiRequests
                    // All but the namespace check before the run was stored.
                    #expect(log.apiRequests == (try await KubeTestServer.requests()).values.reduce(0, +) - 1)
                }
                #expect(requests[100] != nil)
                #expect(requests[100] == requests[10_000], "\(requests)")
            }
        }

        @Test func oneJobPerShard() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                let input = try InputFolder.make(count: 30)
                defer { input.remove() }
                let log = EventLog()
                var options = try testOptions(namespace: namespace)
                options.mode = .jobPerShard
                let fanout = Fanout(
                    options: RunOptions(
                        backend: KubernetesBackend(options: options, client: client), sharding: .shards(3), onEvent: log.observer))
                let run = try await fanout.map(TestSteps.byteCount, over: Input(input.path))
                #expect(
                    try await collectOutcomes(run).mapValues(\.value)
                        == InputFolder.expectedSizes(count: 30).mapValues { Optional($0) })
                let jobs = try await client.list(Job.self, labelSelector: "fanout.dev/run=\(run.id)").items
                #expect(Set(jobs.compactMap { $0.metadata.labels?["fanout.dev/shard"] }) == ["0", "1", "2"])
                #expect(jobs.allSatisfy { $0.succeeded })
            }
        }
    }
}
