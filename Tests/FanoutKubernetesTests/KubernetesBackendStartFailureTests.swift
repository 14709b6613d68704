import FanoutCore
@testable import FanoutKubernetes
import FanoutTestSteps
import FanoutTestSupport
import Foundation
import Testing

extension KubernetesTests {
    /// Pods that cannot start, on the Kubernetes API test server, whose kubelet reports a missing Secret and
    /// images that cannot be pulled as a real one does. The pending timeout stays at its 5-minute default, so
    /// only the start-failure path can end these runs within the time limits.
    @Suite struct KubernetesBackendStartFailureTests {
        /// A run of 10 files over 2 shards with `configure` applied to the test options.
        private func run(
            namespace: String, client: KubernetesClient, input: InputFolder,
            configure: (inout KubernetesBackend.Options) -> Void
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

        private func cannotStart(_ log: EventLog) -> [PodStartFailure] {
            log.all.compactMap { if case .podCannotStart(let failure) = $0 { failure } else { nil } }
        }

        @Test(.timeLimit(.minutes(1)))
        func aMissingSecretFailsTheRunAtOnceNamingItAndLeavesNothing() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                let input = try InputFolder.make(count: 10)
                defer { input.remove() }
                let (run, log, reported) = try await run(namespace: namespace, client: client, input: input) {
                    $0.secretEnvironment = ["fanout-absent-credentials"]
                }
                let error = await #expect(throws: KubernetesError.self) { _ = try await collectOutcomes(run) }
                #expect(error?.code == .podsCannotStart)
                #expect(
                    error?.message.contains(#"CreateContainerConfigError: secret "fanout-absent-credentials" not found"#)
                        == true, "\(String(describing: error))")
                #expect(
                    error?.hint?.contains("kubectl -n \(namespace) create secret generic fanout-absent-credentials")
                        == true, "\(String(describing: error))")
                #expect(cannotStart(log).count == 1, "one report for the cause, however many pods: \(log.all)")
                #expect(cannotStart(log).first?.cause == .missingSecret(name: "fanout-absent-credentials"))
                #expect(
                    reported.notices.contains { $0.contains("cannot start") && $0.contains("create secret generic") },
                    "\(reported.notices)")
                #expect(log.all.contains { if case .cleanedUp("failed", 0) = $0 { true } else { false } })
                #expect(try await client.list(Job.self, labelSelector: "fanout.dev/run=\(run.id)").items.isEmpty)
                #expect(try await runPods(client, run.id).isEmpty)
            }
        }

        @Test(.timeLimit(.minutes(1)))
        func anImageThatCannotBePulledFailsTheRunAfterAFewTries() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                let input = try InputFolder.make(count: 10)
                defer { input.remove() }
                let image = "registry.invalid/fanout/worker:1"
                let (run, log, _) = try await run(namespace: namespace, client: client, input: input) {
                    $0.image = image
                }
                let error = await #expect(throws: KubernetesError.self) { _ = try await collectOutcomes(run) }
                #expect(error?.code == .podsCannotStart)
                #expect(error?.message.contains("ErrImagePull") == true, "\(String(describing: error))")
                #expect(error?.hint?.contains("\(image) (--image)") == true, "\(String(describing: error))")
                #expect(error?.hint?.contains("--image-pull-secret") == true, "\(String(describing: error))")
                #expect(cannotStart(log).first?.cause == .unpullableImage(image))
                #expect(try await client.list(Job.self, labelSelector: "fanout.dev/run=\(run.id)").items.isEmpty)
            }
        }

        @Test(.timeLimit(.minutes(1)))
        func withTheWaitPolicyTheRunFinishesOnceTheSecretExists() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                let input = try InputFolder.make(count: 10)
                defer { input.remove() }
                let (run, log, _) = try await run(namespace: namespace, client: client, input: input) {
                    $0.secretEnvironment = ["fanout-late-credentials"]
                    $0.startFailurePolicy = .wait
                }
                let consumer = Task { try await collectOutcomes(run) }
                _ = try await log.wait(for: "podCannotStart") {
                    if case .podCannotStart = $0 { true } else { false }
                }
                _ = try await client.create(
                    Secret(metadata: ObjectMeta(name: "fanout-late-credentials"), stringData: ["UNUSED": "x"]))
                #expect(try await consumer.value.count == 10)
                #expect(cannotStart(log).count == 1)
            }
        }
    }
}
