import FanoutHTTP
import FanoutKubernetes
import Foundation
import Testing

extension KubernetesTests {
    @Suite struct KubernetesClientTests {
        private func configMap(
            _ name: String, labels: [String: String] = [:], data: [String: String] = ["k": "v"]
        )
            -> ConfigMap
        {
            ConfigMap(metadata: ObjectMeta(name: name, labels: labels), data: data)
        }

        @Test func createGetListDelete() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                let created = try await client.create(configMap("first", labels: ["app": "t"]))
                #expect(created.metadata.namespace == namespace)
                #expect(created.metadata.uid?.isEmpty == false)
                #expect(created.metadata.resourceVersion != nil)

                let read = try await client.get(ConfigMap.self, name: "first")
                #expect(read.data == ["k": "v"])
                #expect(read.metadata.uid == created.metadata.uid)

                _ = try await client.create(configMap("second"))
                let labelled = try await client.list(ConfigMap.self, labelSelector: "app=t")
                #expect(labelled.items.map(\.metadata.name) == ["first"])

                #expect(try await client.delete(ConfigMap.self, name: "first"))
                #expect(try await client.delete(ConfigMap.self, name: "first") == false)
                let error = await #expect(throws: KubernetesError.self) {
                    _ = try await client.get(ConfigMap.self, name: "first")
                }
                #expect(error?.code == .notFound)
                #expect(error?.status == 404)
                #expect(error?.reason == "NotFound")
            }
        }

        @Test func errorStatusesBecomeTypedErrors() async throws {
            try await KubeTestServer.withNamespace { _, client in
                _ = try await client.create(configMap("taken"))
                let duplicate = await #expect(throws: KubernetesError.self) {
                    _ = try await client.create(configMap("taken"))
                }
                #expect(duplicate?.code == .alreadyExists)
                #expect(duplicate?.status == 409)
                #expect(duplicate?.reason == "AlreadyExists")
                #expect(duplicate?.message.contains("already exists") == true)

                // An Indexed Job without completions is invalid: 422 with the field named.
                var spec = JobSpec(
                    template: PodTemplateSpec(spec: PodSpec(containers: [Container(name: "c", image: "x")])))
                spec.completionMode = "Indexed"
                spec.parallelism = 2
                spec.template.spec.restartPolicy = "Never"
                let invalid = await #expect(throws: KubernetesError.self) {
                    _ = try await client.create(Job(metadata: ObjectMeta(name: "bad"), spec: spec))
                }
                #expect(invalid?.code == .invalid)
                #expect(invalid?.status == 422)
                #expect(
                    invalid?.causes.contains { $0.contains("completions") } == true, "\(String(describing: invalid))")
            }
        }

        @Test func patchChangesAnObjectAndFailsWithTypedErrors() async throws {
            try await KubeTestServer.withNamespace { _, client in
                try await KubeTestServer.resetRequests()
                let counter = RequestCounter()
                let counted = client.counting(into: counter)
                _ = try await counted.create(configMap("patched", data: ["k": "v", "gone": "x"]))
                let merged = try await counted.patch(
                    ConfigMap.self, name: "patched", body: ["data": ["k": "w", "gone": .null]])
                #expect(merged.data == ["k": "w"])
                let replaced = try await counted.patch(
                    ConfigMap.self, name: "patched", body: [["op": "replace", "path": "/data/k", "value": "z"]],
                    type: .json)
                #expect(replaced.data == ["k": "z"])

                var spec = JobSpec(
                    template: PodTemplateSpec(spec: PodSpec(containers: [Container(name: "c", image: "x")])))
                spec.template.spec.containers[0].command = ["true"]
                spec.template.spec.restartPolicy = "Never"
                spec.completionMode = "Indexed"
                spec.completions = 3
                spec.parallelism = 3
                _ = try await counted.create(Job(metadata: ObjectMeta(name: "wide"), spec: spec))
                let narrowed = try await counted.patch(Job.self, name: "wide", body: ["spec": ["parallelism": 1]])
                #expect(narrowed.spec?.parallelism == 1)
                #expect(try await client.get(Job.self, name: "wide").spec?.parallelism == 1)

                let immutable = await #expect(throws: KubernetesError.self) {
                    try await counted.patch(Job.self, name: "wide", body: ["spec": ["completionMode": "NonIndexed"]])
                }
                #expect(immutable?.code == .invalid)
                #expect(immutable?.status == 422)
                #expect(immutable?.operation == "patch jobs")
                let missing = await #expect(throws: KubernetesError.self) {
                    try await counted.patch(Job.self, name: "absent", body: ["spec": ["parallelism": 1]])
                }
                #expect(missing?.code == .notFound)
                #expect(counter.byOperation["patch configmaps"] == 2)
                #expect(counter.byOperation["patch jobs"] == 3)
                #expect(try await KubeTestServer.requests()["patch jobs"] == 3)
            }
        }

        @Test func listPagesWithContinueTokens() async throws {
            try await KubeTestServer.withNamespace { _, client in
                for index in 0..<7 { _ = try await client.create(configMap("cm-\(index)", labels: ["page": "yes"])) }
                let first = try await client.list(ConfigMap.self, labelSelector: "page=yes", limit: 3)
                #expect(first.items.count == 3)
                let token = try #require(first.metadata.continueToken)
                let second = try await client.list(
                    ConfigMap.self, labelSelector: "page=yes", limit: 3, continueToken: token)
                #expect(second.items.count == 3)
                #expect(Set(first.items.map(\.metadata.name)).isDisjoint(with: second.items.map(\.metadata.name)))

                try await KubeTestServer.resetRequests()
                let all = try await client.listAll(ConfigMap.self, labelSelector: "page=yes", pageSize: 3)
                #expect(Set(all.items.compactMap(\.metadata.name)) == Set((0..<7).map { "cm-\($0)" }))
                #expect(all.metadata.resourceVersion != nil)
                #expect(try await KubeTestServer.requests()["list configmaps"] == 3)
            }
        }

        @Test func throttledRequestsAreRetriedAfterRetryAfter() async throws {
            try await KubeTestServer.withNamespace { _, client in
                try await KubeTestServer.fault(
                    status: 429, count: 2, verb: "create", resource: "configmaps", retryAfter: 1)
                let clock = ContinuousClock()
                let start = clock.now
                _ = try await client.create(configMap("throttled"))
                #expect(clock.now - start >= .milliseconds(1900), "two Retry-After: 1 waits")
                #expect(try await KubeTestServer.requests()["create configmaps"] == 3)
                #expect(client.requests.byOperation["create configmaps"] == 3)
            }
        }

        @Test func aCreateIsNotRetriedWhenItMayHaveHappened() async throws {
            try await KubeTestServer.withNamespace { _, client in
                try await KubeTestServer.fault(status: 500, count: 1, verb: "create", resource: "configmaps")
                let error = await #expect(throws: KubernetesError.self) {
                    _ = try await client.create(configMap("once"))
                }
                #expect(error?.status == 500)
                #expect(try await KubeTestServer.requests()["create configmaps"] == 1)

                // Reads are retried on the same status.
                try await KubeTestServer.fault(status: 503, count: 2, verb: "list", resource: "configmaps")
                _ = try await client.list(ConfigMap.self)
                #expect(try await KubeTestServer.requests()["list configmaps"] == 3)
            }
        }

        @Test func requestsAreCountedByVerbAndResourceLikeTheServer() async throws {
            try await KubeTestServer.withNamespace { _, client in
                try await KubeTestServer.resetRequests()
                let counter = RequestCounter()
                let counted = client.counting(into: counter)
                _ = try await counted.create(configMap("a"))
                _ = try await counted.get(ConfigMap.self, name: "a")
                _ = try await counted.list(ConfigMap.self)
                try await counted.delete(ConfigMap.self, name: "a")
                #expect(
                    counter.byOperation == [
                        "create configmaps": 1, "get configmaps": 1, "list configmaps": 1, "delete configmaps": 1,
                    ])
                #expect(try await KubeTestServer.requests() == counter.byOperation)
                #expect(counter.total == 4)
            }
        }

        @Test func watchChangesSurvivesDroppedStreamsAndExpiredVersions() async throws {
            try await KubeTestServer.withNamespace { _, client in
                _ = try await client.create(configMap("before", labels: ["w": "1"]))
                try await KubeTestServer.resetRequests()
                var iterator = client.watchChanges(ConfigMap.self, labelSelector: "w=1", timeoutSeconds: 60)
                    .makeAsyncIterator()
                guard case .synced(let initial)? = try await iterator.next() else {
                    Issue.record("the first event is not a list")
                    return
                }
                #expect(initial.map(\.metadata.name) == ["before"])

                func nextAdded() async throws -> String? {
                    while let event = try await iterator.next() {
                        if case .added(let object) = event { return object.metadata.name }
                    }
                    return nil
                }

                _ = try await client.create(configMap("one", labels: ["w": "1"]))
                #expect(try await nextAdded() == "one")

                // The server ends the stream cleanly: the next one starts from the last version seen.
                try await KubeTestServer.dropWatches()
                _ = try await client.create(configMap("two", labels: ["w": "1"]))
                #expect(try await nextAdded() == "two")

                // The connection breaks without the final chunk.
                try await KubeTestServer.dropWatches(abrupt: true)
                _ = try await client.create(configMap("three", labels: ["w": "1"]))
                #expect(try await nextAdded() == "three")

                // Every version seen so far expires: the watch gets 410 and lists again.
                try await KubeTestServer.expire()
                try await KubeTestServer.dropWatches()
                _ = try await client.create(configMap("four", labels: ["w": "1"]))
                var relisted: [String] = []
                while let event = try await iterator.next() {
                    if case .synced(let objects) = event {
                        relisted = objects.compactMap(\.metadata.name).sorted()
                        break
                    }
                }
                #expect(relisted == ["before", "four", "one", "three", "two"])

                let counts = try await KubeTestServer.requests()
                #expect(counts["list configmaps"] == 2)
                #expect((counts["watch configmaps"] ?? 0) >= 4)
            }
        }

        @Test func aWatchFromAnExpiredVersionGetsA410ErrorEvent() async throws {
            try await KubeTestServer.withNamespace { _, client in
                let old = try await client.list(ConfigMap.self).metadata.resourceVersion
                _ = try await client.create(configMap("x"))
                try await KubeTestServer.expire()
                let stream = try await client.watch(ConfigMap.self, resourceVersion: old, timeoutSeconds: 5)
                var iterator = stream.makeAsyncIterator()
                guard case .error(let error)? = try await iterator.next() else {
                    Issue.record("expected an ERROR event")
                    return
                }
                #expect(error.code == .expired)
                #expect(error.status == 410)
                #expect(error.reason == "Expired")
            }
        }

        @Test func anEventLargerThanAChunkArrivesWhole() async throws {
            try await KubeTestServer.withNamespace { _, client in
                let version = try await client.list(ConfigMap.self).metadata.resourceVersion
                let stream = try await client.watch(ConfigMap.self, resourceVersion: version, timeoutSeconds: 10)
                // 600 KB of data: curl hands it over in many pieces, cut inside the JSON.
                let big = String((0..<600_000).map { _ in "abcdefghij".randomElement()! })
                _ = try await client.create(configMap("big", data: ["blob": big, "small": "s"]))
                for try await event in stream {
                    if case .added(let object) = event {
                        #expect(object.data?["blob"] == big)
                        #expect(object.data?["small"] == "s")
                        stream.cancel()
                        return
                    }
                }
                Issue.record("the stream ended without the object")
            }
        }

        @Test func podLogsAndBackgroundDeletion() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                var container = Container(
                    name: "main", image: "debian:12-slim", command: ["sh", "-c", "echo one; echo two; echo three"])
                container.env = [EnvVar(name: "X", value: "1")]
                var spec = PodSpec(containers: [container])
                spec.restartPolicy = "Never"
                var jobSpec = JobSpec(
                    template: PodTemplateSpec(metadata: ObjectMeta(labels: ["job": "logs"]), spec: spec))
                jobSpec.backoffLimit = 0
                _ = try await client.create(Job(metadata: ObjectMeta(name: "logs"), spec: jobSpec))
                var podName = ""
                try await eventually(.seconds(30), "the pod to succeed") {
                    let pods = try await client.list(Pod.self, labelSelector: "job=logs").items
                    podName = pods.first?.metadata.name ?? ""
                    return pods.first?.phase == "Succeeded"
                }
                #expect(try await client.logs(pod: podName, container: "main") == "one\ntwo\nthree\n")
                #expect(try await client.logs(pod: podName, tailLines: 2) == "two\nthree\n")

                #expect(try await client.delete(Job.self, name: "logs", propagationPolicy: .background))
                try await eventually(.seconds(30), "the pod to be collected") {
                    try await client.list(Pod.self, namespace: namespace, labelSelector: "job=logs").items.isEmpty
                }
            }
        }
    }
}
