import FanoutKubernetes
import Foundation
import Testing

extension KubernetesTests {
    @Suite struct KubernetesRunsTests {
        private func job(_ name: String, run: String, command: String) -> Job {
            var spec = PodSpec(
                containers: [Container(name: "main", image: "debian:12-slim", command: ["sh", "-c", command])])
            spec.restartPolicy = "Never"
            let labels = [KubernetesLabels.run: run, KubernetesLabels.step: "count"]
            var jobSpec = JobSpec(template: PodTemplateSpec(metadata: ObjectMeta(labels: labels), spec: spec))
            jobSpec.backoffLimit = 0
            return Job(metadata: ObjectMeta(name: name, labels: labels), spec: jobSpec)
        }

        @Test func runsAreTheirJobsSummedUpAndDeletingOneLeavesTheOthers() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                _ = try await client.create(job("a-0", run: "run-a", command: "sleep 30"))
                _ = try await client.create(job("a-1", run: "run-a", command: "exit 0"))
                _ = try await client.create(job("b-0", run: "run-b", command: "exit 1"))
                // Not a run's Job: no run label.
                var unlabelled = job("other", run: "", command: "true")
                unlabelled.metadata.labels = nil
                _ = try await client.create(unlabelled)

                let runs = KubernetesRuns(client: client)
                try await eventually(.seconds(30), "run-b to fail and a-1 to succeed") {
                    let listed = try await runs.list()
                    return listed.first { $0.runID == "run-b" }?.status == "failed"
                        && listed.first { $0.runID == "run-a" }?.succeededPods == 1
                }
                let listed = try await runs.list()
                #expect(Set(listed.map(\.runID)) == ["run-a", "run-b"])
                let runA = try #require(listed.first { $0.runID == "run-a" })
                #expect(runA.jobs == 2 && runA.activePods == 1 && runA.status == "running" && runA.step == "count")
                let runB = try #require(listed.first { $0.runID == "run-b" })
                #expect(runB.jobs == 1 && runB.failedPods == 1 && runB.finished)

                #expect(try await runs.delete(runID: "run-a") == 2)
                try await eventually(.seconds(30), "run-a's pods to be collected") {
                    let selector = "\(KubernetesLabels.run)=run-a"
                    return try await client.list(Pod.self, namespace: namespace, labelSelector: selector).items.isEmpty
                }
                #expect(try await runs.list().map(\.runID) == ["run-b"])
                #expect(try await runs.delete(runID: "run-a") == 0)
            }
        }
    }
}
