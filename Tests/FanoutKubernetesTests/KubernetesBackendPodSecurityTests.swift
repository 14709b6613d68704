import FanoutCore
import FanoutKubernetes
import FanoutTestSteps
import Foundation
import Testing

extension KubernetesTests {
    /// Runs in namespaces that enforce Pod Security's `restricted` level, on the Kubernetes API test server, whose
    /// admission refuses violating pods with the real messages and whose Job controller then records `FailedCreate`.
    /// The pending timeout stays at its 5-minute default, so only the creation-failure path can end a refused run
    /// within the time limits.
    @Suite struct KubernetesBackendPodSecurityTests {
        static let restricted = ["pod-security.kubernetes.io/enforce": "restricted"]

        /// A run of 10 files over 2 shards with `configure` applied to the test options.
        private func run(
            namespace: String, client: KubernetesClient, input: InputFolder,
            configure: (inout KubernetesBackend.Options) -> Void = { _ in }
        ) async throws -> (run: MapRun<Int>, log: EventLog, reported: EventLog) {
            let log = EventLog()
            let reported = EventLog()
            var options = try testOptions(namespace: namespace)
            configure(&options)
            let fanout = Fanout(
                options: RunOptions(
                    backend: KubernetesBackend(options: options, client: client), sharding: .shards(2),
                    onEvent: { log.record($0); reported.record($0) }))
            return (try await fanout.map(TestSteps.byteCount, over: Input(input.path)), log, reported)
        }

        private func refusals(_ log: EventLog) -> [PodCreationFailure] {
            log.all.compactMap { if case .podsRefused(let failure) = $0 { failure } else { nil } }
        }

        @Test(.timeLimit(.minutes(1)))
        func aRunInARestrictedNamespaceSucceedsAsTheDefaultNonRootUser() async throws {
            try await KubeTestServer.withNamespace(labels: Self.restricted) { namespace, client in
                let input = try InputFolder.make(count: 10)
                defer { input.remove() }
                let (run, log, _) = try await run(namespace: namespace, client: client, input: input)
                let outcomes = try await collectOutcomes(run)
                #expect(outcomes.mapValues(\.value) == InputFolder.expectedSizes(count: 10).mapValues { Optional($0) })
                #expect(refusals(log).isEmpty)
                let jobs = try await client.list(Job.self, labelSelector: "fanout.dev/run=\(run.id)").items
                let job = try #require(jobs.first)
                #expect(job.spec?.template.spec.securityContext?.runAsUser == 65532)
            }
        }

        @Test(.timeLimit(.minutes(1)))
        func runningAsRootInARestrictedNamespaceFailsAtOnceWithTheAdmissionMessage() async throws {
            try await KubeTestServer.withNamespace(labels: Self.restricted) { namespace, client in
                let input = try InputFolder.make(count: 10)
                defer { input.remove() }
                let (run, log, reported) = try await run(namespace: namespace, client: client, input: input) {
                    $0.runAsUser = 0
                }
                let error = await #expect(throws: KubernetesError.self) { _ = try await collectOutcomes(run) }
                #expect(error?.code == .podsCannotStart)
                #expect(
                    error?.message.contains(#"is forbidden: violates PodSecurity "restricted:latest": "#) == true,
                    "\(String(describing: error))")
                #expect(
                    error?.message.contains("runAsUser=0 (pod must not set runAsUser=0)") == true,
                    "\(String(describing: error))")
                #expect(
                    error?.hint?.contains("The namespace \(namespace) enforces Pod Security") == true,
                    "\(String(describing: error))")
                #expect(error?.hint?.contains("--run-as-user") == true, "\(String(describing: error))")
                #expect(refusals(log).count == 1, "one report: \(log.all)")
                #expect(refusals(log).first?.cause == .podSecurity(level: "restricted:latest"))
                #expect(
                    reported.notices.contains {
                        $0.contains("cannot create pods") && $0.contains("violates PodSecurity")
                    }, "\(reported.notices)")
                #expect(log.all.contains { if case .cleanedUp("failed", 0) = $0 { true } else { false } })
                #expect(try await client.list(Job.self, labelSelector: "fanout.dev/run=\(run.id)").items.isEmpty)
                #expect(try await runPods(client, run.id).isEmpty)
            }
        }

        @Test(.timeLimit(.minutes(1)))
        func withTheWaitPolicyTheRunFinishesOnceTheNamespaceAllowsRoot() async throws {
            try await KubeTestServer.withNamespace(labels: Self.restricted) { namespace, client in
                let input = try InputFolder.make(count: 10)
                defer { input.remove() }
                let (run, log, _) = try await run(namespace: namespace, client: client, input: input) {
                    $0.runAsUser = 0
                    $0.startFailurePolicy = .wait
                }
                let consumer = Task { try await collectOutcomes(run) }
                _ = try await log.wait(for: "podsRefused") { if case .podsRefused = $0 { true } else { false } }
                try await client.patch(
                    Namespace.self, name: namespace,
                    body: ["metadata": ["labels": ["pod-security.kubernetes.io/enforce": "baseline"]]])
                #expect(try await consumer.value.count == 10)
                #expect(refusals(log).count == 1)
            }
        }
    }
}
