import FanoutCore
@testable import FanoutKubernetes
import FanoutTestSteps
import FanoutTestSupport
import Foundation
import Testing

extension KubernetesTests {
    /// The run's scheduler over Kubernetes: every pod's end is told apart (disrupted, OOM-killed, failed), and the
    /// scheduler decides each re-run, in a new Job.
    @Suite struct KubernetesSchedulingTests {
        /// A folder of files named `f00.txt`... holding `contents`.
        private func folder(_ contents: [String]) throws -> InputFolder {
            let root = FileManager.default.temporaryDirectory.appendingPathComponent(
                "fanout-k8s-scheduling-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            for (index, text) in contents.enumerated() {
                try Data(text.utf8).write(to: root.appendingPathComponent(String(format: "f%02d.txt", index)))
            }
            return InputFolder(root: root)
        }

        /// Waits for a Running pod of the run's attempt `attempt` and returns its name.
        private func runningPod(_ client: KubernetesClient, _ runID: String, attempt: Int) async throws -> String {
            var name = ""
            try await eventually(.seconds(60), "a running pod of attempt \(attempt)") {
                let pods = try await client.list(
                    Pod.self, labelSelector: "fanout.dev/run=\(runID),fanout.dev/attempt=\(attempt)"
                ).items
                name = pods.first { $0.phase == "Running" }?.metadata.name ?? ""
                return !name.isEmpty
            }
            return name
        }

        @Test func aShardPreemptedFiveTimesWithNoRetriesSucceeds() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                let input = try InputFolder.make(count: 20)
                defer { input.remove() }
                var options = try testOptions(namespace: namespace)
                options.filesInFlight = 1
                let fanout = Fanout(
                    options: RunOptions(
                        backend: KubernetesBackend(options: options, client: client), sharding: .shards(1),
                        retries: 0))
                let run = try await fanout.map(TestSteps.slowByteCount, over: Input(input.path))
                let consumer = Task { try await collectOutcomes(run) }
                for attempt in 1...5 {
                    let pod = try await runningPod(client, run.id, attempt: attempt)
                    try await KubeTestServer.disrupt(pod: pod, namespace: namespace)
                }
                let outcomes = try await consumer.value
                #expect(outcomes.mapValues(\.value) == InputFolder.expectedSizes(count: 20).mapValues { Optional($0) })
                let history = try #require(run.summary?.shardHistories[0])
                #expect(history.components(separatedBy: "disrupted").count - 1 == 5, "\(history)")
                #expect(history.hasSuffix("attempt 6 succeeded"), "\(history)")
                // Each re-run went into a Job of its own.
                let jobs = try await client.list(Job.self, labelSelector: "fanout.dev/run=\(run.id)").items
                #expect(jobs.compactMap { $0.metadata.labels?["fanout.dev/attempt"] }.sorted() == (1...6).map(String.init))
            }
        }

        @Test func aShardDisruptedPastItsBudgetFailsAndSaysWhichBudget() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                let input = try InputFolder.make(count: 20)
                defer { input.remove() }
                var options = try testOptions(namespace: namespace)
                options.filesInFlight = 1
                var runOptions = RunOptions(
                    backend: KubernetesBackend(options: options, client: client), sharding: .shards(1),
                    tolerance: .fraction(1), retries: 3)
                runOptions.disruptionBudget = 2
                let run = try await Fanout(options: runOptions).map(TestSteps.slowByteCount, over: Input(input.path))
                let consumer = Task { try await collectOutcomes(run) }
                for attempt in 1...3 {
                    let pod = try await runningPod(client, run.id, attempt: attempt)
                    try await KubeTestServer.disrupt(pod: pod, namespace: namespace, mode: "delete")
                }
                let outcomes = try await consumer.value
                #expect(outcomes.count == 20)
                let failures = outcomes.values.compactMap(\.failure?.message)
                #expect(!failures.isEmpty)
                #expect(
                    failures.allSatisfy { $0.contains("disrupted 3 times, more than its disruption budget of 2") },
                    "\(failures.first ?? "")")
                // The retries were not touched: no fourth attempt.
                let jobs = try await client.list(Job.self, labelSelector: "fanout.dev/run=\(run.id)").items
                #expect(jobs.count == 3)
            }
        }

        @Test func anOOMKilledShardRunsAgainWithMoreMemoryUsingNoRetry() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                // One file needs 120 MiB beside the worker's own memory: more than 96Mi, less than 192Mi.
                let input = try folder(["1", "120", "2", "3"])
                defer { input.remove() }
                var options = try testOptions(namespace: namespace)
                options.resources.memory = "96Mi"
                let fanout = Fanout(
                    options: RunOptions(
                        backend: KubernetesBackend(options: options, client: client), sharding: .shards(2),
                        retries: 0))
                let run = try await fanout.map(TestSteps.holdsMemory, over: Input(input.path))
                let outcomes = try await collectOutcomes(run)
                #expect(outcomes.mapValues(\.value) == ["f00.txt": 1, "f01.txt": 120, "f02.txt": 2, "f03.txt": 3])
                let histories = try #require(run.summary?.shardHistories)
                #expect(
                    Array(histories.values) == ["attempt 1 OOMKilled at 96Mi; attempt 2 succeeded at 192Mi"],
                    "\(histories)")
                let raised = try await client.list(
                    Job.self, labelSelector: "fanout.dev/run=\(run.id),fanout.dev/attempt=2"
                ).items
                #expect(raised.count == 1)
                #expect(raised.first?.spec?.template.spec.containers[0].resources?.limits?["memory"] == "192Mi")
            }
        }

        @Test func anAttemptOOMKilledAtTheMostMemoryAllowedUsesARetry() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                let input = try folder(["120"])
                defer { input.remove() }
                var options = try testOptions(namespace: namespace)
                options.resources.memory = "64Mi"
                var runOptions = RunOptions(
                    backend: KubernetesBackend(options: options, client: client), sharding: .shards(1),
                    tolerance: .fraction(1), retries: 1)
                runOptions.memoryGrowth = .init(factor: 1.5, maximumBytes: 96 << 20)
                let run = try await Fanout(options: runOptions).map(TestSteps.holdsMemory, over: Input(input.path))
                let outcomes = try await collectOutcomes(run)
                let failure = try #require(outcomes["f00.txt"]?.failure?.message)
                #expect(failure.contains("OOMKilled at 96Mi, the most memory allowed"), "\(failure)")
                // Raised once (no retry used), then at the cap twice: the attempt and its one retry.
                let history = try #require(run.summary?.shardHistories[0])
                #expect(
                    history == "attempt 1 OOMKilled at 64Mi; attempt 2 OOMKilled at 96Mi, the most memory allowed; "
                        + "attempt 3 OOMKilled at 96Mi, the most memory allowed", "\(history)")
            }
        }

        @Test func aStragglerIsOvertakenByItsBackupAndTheLoserIsStopped() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                let input = try folder((0..<11).map(String.init) + ["straggler"])
                defer { input.remove() }
                try FileManager.default.moveItem(
                    at: input.root.appendingPathComponent("f11.txt"),
                    to: input.root.appendingPathComponent("f11-straggler.txt"))
                let fanout = Fanout(
                    options: RunOptions(
                        backend: KubernetesBackend(
                            options: try testOptions(namespace: namespace), client: client),
                        sharding: .shards(4)))
                let run = try await fanout.map(TestSteps.firstAttemptStraggles, over: Input(input.path))
                let outcomes = try await collectOutcomes(run)
                #expect(outcomes.count == 12 && outcomes.values.allSatisfy { $0.value == 1 })
                let history = try #require(run.summary?.shardHistories.values.first)
                #expect(history.contains("backup attempt 2 succeeded"), "\(history)")
                #expect(history.contains("attempt 1 cancelled"), "\(history)")
                let backups = try await client.list(
                    Job.self, labelSelector: "fanout.dev/run=\(run.id),fanout.dev/backup=true"
                ).items
                #expect(backups.count == 1)
                // The first attempt's pod was deleted, not left sleeping.
                let left = try await runPods(client, run.id).filter { $0.phase == "Running" || $0.phase == "Pending" }
                #expect(left.isEmpty, "\(left.compactMap(\.metadata.name))")
            }
        }

        @Test func cancellingARunLeavesNoAttemptBehindBackupsIncluded() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                let input = try folder((0..<11).map(String.init) + ["straggler"])
                defer { input.remove() }
                try FileManager.default.moveItem(
                    at: input.root.appendingPathComponent("f11.txt"),
                    to: input.root.appendingPathComponent("f11-straggler.txt"))
                let log = EventLog()
                let fanout = Fanout(
                    options: RunOptions(
                        backend: KubernetesBackend(
                            options: try testOptions(namespace: namespace), client: client),
                        sharding: .shards(4), onEvent: log.observer))
                let run = try await fanout.map(TestSteps.straggles, over: Input(input.path))
                let consumer = Task { try await collectOutcomes(run) }
                // Both the straggler and its backup run.
                try await eventually(.seconds(60), "a running backup") {
                    let pods = try await client.list(
                        Pod.self, labelSelector: "fanout.dev/run=\(run.id),fanout.dev/backup=true"
                    ).items
                    return pods.contains { $0.phase == "Running" }
                }
                #expect(try await runPods(client, run.id).filter { $0.phase == "Running" }.count == 2)
                consumer.cancel()
                let cleaned = try await log.wait(for: "cleanedUp") {
                    if case .cleanedUp = $0 { true } else { false }
                }
                #expect(cleaned == .cleanedUp(reason: "cancelled", remainingPods: 0))
                #expect(try await client.list(Job.self, labelSelector: "fanout.dev/run=\(run.id)").items.isEmpty)
                #expect(try await runPods(client, run.id).isEmpty)
            }
        }

        @Test func aFleetSplitsOneMapAcrossClustersAndMovesShardsAwayFromPendingPods() async throws {
            try await KubeTestServer.withNamespace { far, farClient in
                try await KubeTestServer.withNamespace { near, nearClient in
                    let input = try InputFolder.make(count: 16)
                    defer { input.remove() }
                    // "far" offers only a zone no node of the test cluster is in: its pods never leave Pending.
                    var farOptions = try testOptions(namespace: far)
                    farOptions.scheduling.nodeSelector = ["topology.kubernetes.io/zone": "zone-nobody-has"]
                    farOptions.pendingTimeout = .seconds(1)
                    var nearOptions = try testOptions(namespace: near)
                    // near is healthy, however slowly a busy machine starts its pods.
                    nearOptions.pendingTimeout = .seconds(300)
                    let fleet = FleetBackend(members: [
                        .init(name: "far", backend: KubernetesBackend(options: farOptions, client: farClient), capacity: 2),
                        .init(name: "near", backend: KubernetesBackend(options: nearOptions, client: nearClient), capacity: 2),
                    ])
                    let log = EventLog()
                    let run = try await Fanout(
                        options: RunOptions(backend: fleet, sharding: .shards(4), state: input.state, onEvent: log.observer)
                    ).map(TestSteps.byteCount, over: Input(input.path))
                    let outcomes = try await collectOutcomes(run)
                    #expect(outcomes.mapValues(\.value) == InputFolder.expectedSizes(count: 16).mapValues { Optional($0) })

                    // Half the shards went to each cluster; far's never started and ran on near instead.
                    let launched = log.runEvents.compactMap { event -> AttemptLaunch? in
                        if case .launched(let launch) = event { launch } else { nil }
                    }
                    #expect(launched.filter { $0.id.number == 1 }.map(\.place).sorted() == [0, 0, 1, 1])
                    #expect(launched.filter { $0.id.number == 2 }.allSatisfy { $0.place == 1 })
                    let histories = try #require(run.summary?.shardHistories)
                    #expect(histories.count == 2, "\(histories)")
                    #expect(histories.values.allSatisfy { $0.hasPrefix("attempt 1 withdrawn from far unstarted") }, "\(histories)")
                    #expect(log.notices.contains { $0.hasPrefix("far: pods waited too long to start") && $0.contains("move to near") })
                    // Nothing is left waiting on far: its Job was deleted with its pods.
                    #expect(try await farClient.list(Job.self, labelSelector: "fanout.dev/run=\(run.id)").items.isEmpty)
                    #expect(try await farClient.list(Pod.self, labelSelector: "fanout.dev/run=\(run.id)").items.isEmpty)
                    let nearJobs = try await nearClient.list(Job.self, labelSelector: "fanout.dev/run=\(run.id)").items
                    #expect(!nearJobs.isEmpty && nearJobs.allSatisfy(\.succeeded))
                }
            }
        }
    }
}
