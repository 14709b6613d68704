import FanoutCore
import FanoutHTTP
@testable import FanoutKubernetes
import FanoutTestSteps
import FanoutTestSupport
import Foundation
import Testing

/// The second Kubernetes API test server: another cluster, in test-zone-b, whose node has four GPUs.
enum SecondCluster {
    static var kubeconfig: String {
        get throws { try TestEnvironment.value("FANOUT_TEST_KUBECONFIG_B") }
    }

    static func client(namespace: String) throws -> KubernetesClient {
        KubernetesClient(
            configuration: try KubernetesConfiguration.resolve(
                kubeconfig: [kubeconfig], context: nil, namespace: namespace))
    }

    static var control: URL {
        get throws { URL(string: try TestEnvironment.value("FANOUT_TEST_KUBE_CONTROL_B"))! }
    }

    /// Sends a control request to the second server.
    static func post(_ path: String, _ body: JSONValue = [:]) async throws {
        try await KubeTestServer.post(path, body, control: try control)
    }

    /// The API requests the second server has served, by verb and resource.
    static func requests() async throws -> [String: Int] {
        try await KubeTestServer.requests(control: try control)
    }

    /// Runs `body` with a new namespace on each cluster.
    static func withNamespaces<T>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (_ a: String, _ aClient: KubernetesClient, _ b: String, _ bClient: KubernetesClient) async throws -> T
    ) async throws -> T {
        try await KubeTestServer.withNamespace { a, aClient in
            // Controls an earlier test left set (one that failed half-way) are cleared first.
            try await post("reset")
            let b = "t-" + UUID().uuidString.lowercased().prefix(8)
            let bClient = try client(namespace: b)
            _ = try await bClient.create(Namespace(name: b))
            defer { Task { [bClient] in try? await bClient.delete(Namespace.self, name: b) } }
            return try await body(a, aClient, b, bClient)
        }
    }
}

extension KubernetesTests {
    /// One map over two clusters declared as a fleet, each its own API test server.
    @Suite struct FleetRunTests {
        /// The two test clusters: "a" (test-zone-a, plain machines) and "b" (test-zone-b, four GPUs a machine).
        private func fleet(_ a: String, _ b: String, capacity: (a: Int, b: Int)) throws -> Fleet {
            Fleet(clusters: [
                FleetCluster(
                    "a", kubeconfig: [try KubeTestServer.kubeconfig], namespace: a, region: "test-region",
                    zones: [FleetZone("test-zone-a", machineTypes: [FleetMachineType("test-standard", cpu: 4, memory: "16Gi")])],
                    capacity: capacity.a),
                FleetCluster(
                    "b", kubeconfig: [try SecondCluster.kubeconfig], namespace: b, region: "test-region-b",
                    zones: [
                        FleetZone(
                            "test-zone-b",
                            machineTypes: [
                                FleetMachineType("test-gpu", cpu: 8, memory: "32Gi", accelerators: ["nvidia-l4": 4])
                            ])
                    ],
                    capacity: capacity.b),
            ])
        }

        private func base() throws -> KubernetesBackend.Options {
            var options = try testOptions(namespace: "unused")
            options.pendingTimeout = .seconds(1)
            return options
        }

        private func jobs(_ client: KubernetesClient, _ runID: String) async throws -> [Job] {
            try await client.list(Job.self, labelSelector: "fanout.dev/run=\(runID)").items
        }

        @Test func anAcceleratorOnlyOneClusterOffersSendsTheWholeRunThere() async throws {
            try await SecondCluster.withNamespaces { a, aClient, b, bClient in
                let input = try InputFolder.make(count: 12)
                defer { input.remove() }
                let backend = try FleetBackend(
                    fleet: try fleet(a, b, capacity: (4, 4)), requirements: FleetRequirements(accelerator: "nvidia-l4"),
                    options: try base())
                #expect(backend.members.map(\.name) == ["b"])
                let run = try await Fanout(
                    options: RunOptions(backend: backend, sharding: .shards(3), state: input.state)
                ).map(TestSteps.byteCount, over: Input(input.path))
                let outcomes = try await collectOutcomes(run)
                #expect(outcomes.mapValues(\.value) == InputFolder.expectedSizes(count: 12).mapValues { Optional($0) })
                #expect(try await jobs(aClient, run.id).isEmpty)
                let onB = try await jobs(bClient, run.id)
                #expect(!onB.isEmpty && onB.allSatisfy(\.succeeded))
                let worker = onB.first?.spec?.template.spec.containers.first
                #expect(worker?.resources?.limits?["nvidia.com/gpu"] == "1")
                #expect(onB.first?.spec?.template.spec.nodeSelector?["topology.kubernetes.io/zone"] == "test-zone-b")
                // A fleet's Jobs end on their own, even on a cluster the run could not clean up.
                #expect(onB.allSatisfy { $0.spec?.activeDeadlineSeconds == FleetBackend.defaultJobDeadlineSeconds })

                // What no cluster offers is refused before anything is stored, naming the nearest offers.
                let refused = #expect(throws: FleetError.self) {
                    _ = try FleetBackend(
                        fleet: try fleet(a, b, capacity: (4, 4)),
                        requirements: FleetRequirements(accelerator: "nvidia-h100", acceleratorCount: 8),
                        options: try base())
                }
                #expect(refused?.code == .noMatch)
                #expect(refused?.message.contains("nearest: b (test-zone-b: test-gpu") == true, "\(refused?.message ?? "")")
            }
        }

        @Test func aRunSplitAcrossTwoClustersByCapacityIsExactAndTheirRequestsStayFlat() async throws {
            try await SecondCluster.withNamespaces { a, aClient, b, bClient in
                var perCluster: [Int: [[String: Int]]] = [:]
                for count in [100, 10_000] {
                    let input = try InputFolder.make(count: count)
                    defer { input.remove() }
                    // Pods slow to start on a busy machine are not to be taken for capacity that never comes here.
                    var patient = try base()
                    patient.pendingTimeout = .seconds(300)
                    var backend = try FleetBackend(
                        fleet: try fleet(a, b, capacity: (1, 3)), requirements: FleetRequirements(), options: patient)
                    // Clients of their own, whose counts are this run's requests to each cluster alone.
                    let clients = [
                        try KubeTestServer.client(namespace: a), try SecondCluster.client(namespace: b),
                    ]
                    for index in backend.members.indices { backend.members[index].backend.client = clients[index] }
                    var options = RunOptions(backend: backend, sharding: .shards(8), state: input.state)
                    options.backups = nil
                    let log = EventLog()
                    options.onEvent = log.observer
                    let run = try await Fanout(options: options).map(TestSteps.byteCount, over: Input(input.path))
                    let outcomes = try await collectOutcomes(run)
                    #expect(outcomes.mapValues(\.value) == InputFolder.expectedSizes(count: count).mapValues { Optional($0) })
                    // Shards went 1 : 3, all at once, as the capacities say: one Job on each cluster.
                    let first = log.runEvents.compactMap { event -> AttemptLaunch? in
                        if case .launched(let launch) = event, launch.id.number == 1 { launch } else { nil }
                    }
                    #expect(first.count == 8)
                    #expect(first.prefix(4).map(\.place).sorted() == [0, 1, 1, 1], "\(first.map(\.place))")
                    #expect(first.filter { $0.place == 0 }.count == 2, "all at once, 2 : 6: \(first.map(\.place))")
                    let (onA, onB) = (try await jobs(aClient, run.id), try await jobs(bClient, run.id))
                    #expect(!onA.isEmpty && !onB.isEmpty)
                    // What the run asked of each cluster; reading a Job's events (why it has no pods yet) depends
                    // on how fast the cluster makes pods, not on the files.
                    perCluster[count] = clients.map { $0.requests.byOperation.filter { $0.key != "list events" } }
                }
                #expect(perCluster[100] != nil && perCluster[100] == perCluster[10_000], "\(perCluster)")
            }
        }

        @Test func logsFollowShowsThePodsOfEveryClusterEachLineNamingItsCluster() async throws {
            try await SecondCluster.withNamespaces { a, _, b, _ in
                let input = try InputFolder.make(count: 6)
                defer { input.remove() }
                // Pods that wait a while on a busy machine stay where they are: one shard on each cluster.
                var options = try base()
                options.pendingTimeout = .seconds(120)
                let backend = try FleetBackend(
                    fleet: try fleet(a, b, capacity: (1, 1)), requirements: FleetRequirements(), options: options)
                let run = try await Fanout(
                    options: RunOptions(backend: backend, sharding: .shards(2), state: input.state)
                ).map(TestSteps.chattyByteCount, over: Input(input.path))
                #expect(try await collectOutcomes(run).count == 6)
                let follow = try await FanoutBinary.run(
                    ["logs", run.id, "-f", "--state", input.state], environment: try FanoutBinary.environment())
                #expect(follow.status == 0, "\(follow.stderr)")
                let lines = follow.stdout.split(separator: "\n")
                for cluster in ["a", "b"] {
                    #expect(lines.contains { $0.hasPrefix("[\(cluster) pod ") && $0.contains("] read f") }, "\(follow.stdout)")
                }
                #expect(lines.filter { $0.contains("] read f") }.count == 6, "each file's line once: \(follow.stdout)")
            }
        }

        @Test func aClusterThatStopsAnsweringMidRunIsDroppedAndItsShardsFinishElsewhere() async throws {
            try await SecondCluster.withNamespaces { a, aClient, b, bClient in
                let input = try InputFolder.make(count: 24)
                defer { input.remove() }
                var aOptions = try testOptions(namespace: a)
                aOptions.filesInFlight = 1
                aOptions.kubeconfig = [try KubeTestServer.kubeconfig]
                var bOptions = try testOptions(namespace: b)
                bOptions.filesInFlight = 1
                bOptions.kubeconfig = [try SecondCluster.kubeconfig]
                bOptions.cleanupTimeout = .seconds(2)
                // Its client gives up on a request after 2 s of errors, as after minutes on a real cluster.
                let impatient = KubernetesClient(
                    configuration: try KubernetesConfiguration.resolve(
                        kubeconfig: [try SecondCluster.kubeconfig], context: nil, namespace: b),
                    retry: RetryPolicy(budget: .seconds(2), unreachableBudget: .seconds(2)))
                let fleet = FleetBackend(members: [
                    .init(name: "a", backend: KubernetesBackend(options: aOptions, client: aClient), capacity: 2),
                    .init(name: "b", backend: KubernetesBackend(options: bOptions, client: impatient), capacity: 2),
                ])
                let log = EventLog()
                let run = try await Fanout(
                    options: RunOptions(backend: fleet, sharding: .shards(4), state: input.state, onEvent: log.observer)
                ).map(TestSteps.slowByteCount, over: Input(input.path))
                let consumer = Task { try await collectOutcomes(run) }
                try await eventually(.seconds(30), "b's pods running") {
                    try await bClient.list(Pod.self, labelSelector: "fanout.dev/run=\(run.id)").items
                        .contains { $0.phase == "Running" }
                }
                // b stops answering: every request fails, and its open watches break.
                try await KubeTestServer.post(
                    "faults", ["status": 503, "count": 100_000, "message": "the cluster is down"],
                    control: try SecondCluster.control)
                try await KubeTestServer.post("watches/drop", ["abrupt": true], control: try SecondCluster.control)
                let outcomes = try await consumer.value
                // The run records that b was dropped, and status says what to do about it.
                let catalog = try RunCatalog(state: input.state)
                let lost = try await catalog.lostPlaces(run.id)
                #expect(lost.map(\.place) == ["b"] && lost.first?.reason.contains("the cluster is down") == true, "\(lost)")
                var environment = try FanoutBinary.environment()
                environment["FANOUT_HTTP_RETRY_BUDGET"] = "2"  // b's 503s are given up on in 2 s, not a minute
                let status = try await FanoutBinary.run(["status", run.id, "--state", input.state], environment: environment)
                #expect(status.stdout.contains("dropped    cluster b at "), "\(status.stdout)\(status.stderr)")
                #expect(status.stdout.contains("`fanout cancel \(run.id)` removes them once it answers"))
                // While b does not answer, cancel says so and fails; the record stays.
                let refused = try await FanoutBinary.run(["cancel", run.id, "--state", input.state], environment: environment)
                #expect(refused.status == 1 && refused.stderr.contains("cluster b could not be cleaned up"), "\(refused.stderr)")
                #expect(try await catalog.lostPlaces(run.id).count == 1)
                // Answering again (each test also starts with a reset): cancel removes what the run left on b.
                try await SecondCluster.post("reset")
                #expect(!(try await jobs(bClient, run.id)).isEmpty, "b's Jobs outlived the run")
                let cancel = try await FanoutBinary.run(["cancel", run.id, "--state", input.state], environment: environment)
                #expect(cancel.status == 0 && cancel.stdout.contains("on cluster b"), "\(cancel.stdout)\(cancel.stderr)")
                #expect(try await jobs(bClient, run.id).isEmpty)
                #expect(try await catalog.lostPlaces(run.id).isEmpty, "the record goes with the Jobs")
                #expect(outcomes.mapValues(\.value) == InputFolder.expectedSizes(count: 24).mapValues { Optional($0) })
                #expect(log.notices.contains { $0.hasPrefix("b is out of the run: b:") && $0.contains("move to a") }, "\(log.notices)")
                let histories = try #require(run.summary?.shardHistories)
                #expect(!histories.isEmpty && histories.values.allSatisfy { $0.contains("disrupted: b stopped working") }, "\(histories)")
            }
        }

        @Test func aClusterWhosePodsStayPendingLosesItsUnstartedShardsAndCancelLeavesNothing() async throws {
            try await SecondCluster.withNamespaces { a, aClient, b, bClient in
                let input = try InputFolder.make(count: 24)
                defer { input.remove() }
                // Cluster b has no room: its pods wait for capacity that never comes.
                try await SecondCluster.post("scheduling", ["hold": .bool(true)])
                let log = EventLog()
                let backend = try FleetBackend(
                    fleet: try fleet(a, b, capacity: (2, 2)), requirements: FleetRequirements(), options: try base())
                let run = try await Fanout(
                    options: RunOptions(backend: backend, sharding: .shards(4), state: input.state, onEvent: log.observer)
                ).map(TestSteps.byteCount, over: Input(input.path))
                let outcomes = try await collectOutcomes(run)
                #expect(outcomes.mapValues(\.value) == InputFolder.expectedSizes(count: 24).mapValues { Optional($0) })
                let histories = try #require(run.summary?.shardHistories)
                #expect(histories.count == 2 && histories.values.allSatisfy { $0.hasPrefix("attempt 1 withdrawn from b") })
                #expect(try await jobs(bClient, run.id).isEmpty, "b's Job was deleted")
                #expect(try await bClient.list(Pod.self, labelSelector: "fanout.dev/run=\(run.id)").items.isEmpty)
                #expect(try await jobs(aClient, run.id).allSatisfy(\.succeeded))

                // A second run, cancelled while both clusters hold its pods: nothing is left on either.
                let slow = try await Fanout(
                    options: RunOptions(backend: backend, sharding: .shards(4), state: input.state, cache: false,
                        onEvent: log.observer)
                ).map(TestSteps.slowByteCount, over: Input(input.path))
                let consumer = Task { try await collectOutcomes(slow) }
                try await eventually(.seconds(30), "pods on both clusters") {
                    let onA = try await aClient.list(Pod.self, labelSelector: "fanout.dev/run=\(slow.id)").items
                    let onB = try await bClient.list(Pod.self, labelSelector: "fanout.dev/run=\(slow.id)").items
                    return onA.contains { $0.phase == "Running" } && !onB.isEmpty
                }
                consumer.cancel()
                _ = await consumer.result
                let (leftA, leftB) = (try await jobs(aClient, slow.id), try await jobs(bClient, slow.id))
                #expect(leftA.isEmpty && leftB.isEmpty)
                #expect(try await aClient.list(Pod.self, labelSelector: "fanout.dev/run=\(slow.id)").items.isEmpty)
                #expect(try await bClient.list(Pod.self, labelSelector: "fanout.dev/run=\(slow.id)").items.isEmpty)
                try await SecondCluster.post("scheduling", ["hold": .bool(false)])
            }
        }
    }
}

extension KubernetesTests {
    /// `fanout fleet FILE`: the clusters, what they offer, and whether a run could use each.
    @Suite struct FleetCommandTests {
        @Test func theCheckNamesAnUnreachableClusterAndADeniedVerb() async throws {
            try await SecondCluster.withNamespaces { a, _, b, _ in
                try await withTemporaryDirectory { folder in
                    let fleet = folder.appendingPathComponent("fleet.yaml")
                    try Data("""
                        clusters:
                          - name: plain
                            kubeconfig: [\(try KubeTestServer.kubeconfig)]
                            namespace: \(a)
                            region: test-region
                            capacity: 4
                            zones: [{name: test-zone-a, machineTypes: [{name: test-standard, cpu: 4, memory: 16Gi}]}]
                          - name: gpus
                            kubeconfig: [\(try SecondCluster.kubeconfig)]
                            namespace: \(b)
                            region: test-region-b
                            capacity: 4
                            zones: [{name: test-zone-b, machineTypes: [{name: test-gpu, cpu: 8, memory: 32Gi, accelerators: {nvidia-l4: 4}}]}]
                          - name: gone
                            kubeconfig: [\(try KubeTestServer.kubeconfig)]
                            context: no-such-context
                            region: elsewhere
                            capacity: 1
                            zones: [{name: z, machineTypes: [{name: m, cpu: 1, memory: 1Gi}]}]

                        """.utf8).write(to: fleet)
                    try await SecondCluster.post(
                        "rbac", ["deny": [["verb": "create", "resource": "jobs"], ["verb": "get", "resource": "pods/log"]]])
                    let environment = try FanoutBinary.environment()
                    let listed = try await FanoutBinary.run(["fleet", fleet.path], environment: environment)
                    #expect(listed.status == 1, "\(listed.stderr)")
                    let lines = listed.stdout.split(separator: "\n").map(String.init)
                    #expect(lines.contains("plain: test-region capacity 4, weight 1.0"), "\(lines)")
                    #expect(lines.contains { $0.contains("test-zone-b: test-gpu, 8 CPU, 32Gi, nvidia-l4 ×4") })
                    #expect(lines.contains { $0.hasPrefix("  reachable (namespace \(a)") && $0.hasSuffix("may do all a run needs") })
                    #expect(lines.contains { $0.contains("denied: create jobs.batch, get pods/log") }, "\(lines)")
                    #expect(lines.contains { $0.hasPrefix("  unreachable:") && $0.contains("no-such-context") }, "\(lines)")

                    let listedJSON = try await FanoutBinary.run(["fleet", fleet.path, "--json"], environment: environment)
                    let clusters = try #require(
                        try JSONSerialization.jsonObject(with: Data(listedJSON.stdout.utf8)) as? [[String: Any]])
                    #expect(clusters.map { $0["name"] as? String } == ["plain", "gpus", "gone"])
                    #expect(clusters.map { $0["reachable"] as? Bool } == [true, true, false])
                    #expect(clusters[1]["denied"] as? [String] == ["create jobs.batch", "get pods/log"])
                    let offline = try await FanoutBinary.run(["fleet", fleet.path, "--no-check"], environment: environment)
                    #expect(offline.status == 0 && !offline.stdout.contains("reachable"))
                    try await SecondCluster.post("rbac", ["deny": []])
                }
            }
        }
    }
}
