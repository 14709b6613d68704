import FanoutCore
import FanoutKubernetes
import Foundation
import Testing
import Yams

@testable import FanoutKubernetes

extension KubernetesTests {
    @Suite struct KubernetesManifestTests {
        /// Options that exercise every part of the pod template.
        private func fullOptions() -> KubernetesBackend.Options {
            var options = KubernetesBackend.Options()
            options.executable = "/bin/true"
            options.arguments = ["--input", "s3://bucket/in/"]
            options.parallelism = 8
            options.activeDeadlineSeconds = 3600
            options.resources = .init(cpu: "500m", cpuLimit: "2", memory: "1Gi", ephemeralStorage: "10Gi", gpus: 1)
            options.scheduling = .init(
                nodeSelector: ["pool": "batch"],
                tolerations: [Toleration(key: "spot", operator: "Exists", effect: "NoSchedule")],
                affinity: [
                    "nodeAffinity": [
                        "preferredDuringSchedulingIgnoredDuringExecution": [
                            [
                                "weight": 100,
                                "preference": [
                                    "matchExpressions": [["key": "zone", "operator": "In", "values": ["a", "b"]]]
                                ],
                            ]
                        ]
                    ]
                ],
                priorityClassName: "batch-low")
            options.serviceAccountName = "fanout"
            options.labels = ["team": "data"]
            options.annotations = ["owner": "data@example.com"]
            options.environment = ["AWS_REGION": "eu-west-1", "FLAG": "true"]
            options.secretEnvironment = ["s3-credentials"]
            options.secretKeyEnvironment = ["EXTRA_TOKEN": .init(secret: "other", key: "token")]
            options.imagePullSecrets = ["registry"]
            return options
        }

        private func plan(shards: Int) -> KubernetesJobPlan {
            plan(Array(0..<shards))
        }

        private func plan(_ shards: [Int], attempt: Int = 1) -> KubernetesJobPlan {
            KubernetesJobPlan(
                runID: "20261124-203512-9f3c01ab", stateLocation: "s3://bucket/.fanout/", stepName: "word-count",
                shards: shards, attempt: attempt,
                executableURL: "https://bucket.s3.amazonaws.com/.fanout/v1/bin/abc?X-Amz-Signature=def",
                executableSHA256: String(repeating: "ab", count: 32), token: "k3x9z")
        }

        /// Runs kubernetes-validate on `yaml` for a Kubernetes version (`nil`: the newest it knows).
        private func validate(_ yaml: String, version: String?) async throws -> ChildProcess.Result {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent(
                "fanout-manifest-\(UUID().uuidString).yaml")
            try Data(yaml.utf8).write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            var arguments = ["--strict"]
            if let version { arguments += ["-k", version] }
            return try await ChildProcess.run("kubernetes-validate", arguments: arguments + [file.path])
        }

        @Test(arguments: [KubernetesBackend.Options.Mode.indexed, .jobPerShard])
        func manifestsPassStrictSchemaValidation(mode: KubernetesBackend.Options.Mode) async throws {
            var options = fullOptions()
            options.mode = mode
            let yaml = try KubernetesBackend(options: options).manifestYAML(for: plan(shards: 3), namespace: "batch")
            for version in ["1.29.0", nil] {
                let result = try await validate(yaml, version: version)
                let output = String(decoding: result.standardOutput, as: UTF8.self) + result.errorTail
                #expect(result.succeeded, "kubernetes-validate \(version ?? "newest"): \(output)\n\(yaml)")
                #expect(!output.contains("INVALID") && !output.lowercased().contains("error"), "\(output)")
            }
            // kubectl reads it back as the same objects.
            let documents = yaml.components(separatedBy: "---\n")
            #expect(documents.count == (mode == .indexed ? 1 : 3))
            let decoded = try YAMLDecoder().decode(Job.self, from: documents[0])
            #expect(
                decoded
                    == (try KubernetesBackend(options: options).manifests(for: plan(shards: 3), namespace: "batch"))[0])
        }

        @Test func anIndexedJobRunsShardsAsCompletionIndexes() throws {
            let jobs = try KubernetesBackend(options: fullOptions()).manifests(
                for: plan(shards: 20), namespace: "batch")
            let job = try #require(jobs.first)
            #expect(jobs.count == 1)
            #expect(job.metadata.name == "fanout-20261124-203512-9f3c01ab-k3x9z")
            #expect(job.metadata.labels?["fanout.dev/run"] == "20261124-203512-9f3c01ab")
            #expect(job.metadata.labels?["team"] == "data")
            let spec = try #require(job.spec)
            #expect(spec.completionMode == "Indexed")
            #expect(spec.completions == 20)
            #expect(spec.parallelism == 8)
            // Every pod failure ends its attempt: the scheduler decides each re-run, in a new Job.
            #expect(spec.backoffLimitPerIndex == 0)
            #expect(spec.backoffLimit == nil)
            #expect(spec.maxFailedIndexes == nil)
            #expect(spec.ttlSecondsAfterFinished == 3600)
            #expect(spec.activeDeadlineSeconds == 3600)
            #expect(
                spec.podFailurePolicy?.rules == [
                    PodFailurePolicyRule(
                        action: "FailJob",
                        onExitCodes: .init(containerName: "worker", operator: "In", values: [127, 128]))
                ])
            let pod = spec.template.spec
            #expect(pod.restartPolicy == "Never")
            #expect(pod.nodeSelector == ["pool": "batch"])
            #expect(pod.priorityClassName == "batch-low")
            #expect(pod.imagePullSecrets == [LocalObjectReference(name: "registry")])
            #expect(spec.template.metadata?.annotations?["fanout.dev/shards"] == "0-19")
            #expect(spec.template.metadata?.labels?["fanout.dev/attempt"] == "1")
            let worker = pod.containers[0]
            #expect(worker.command == ["/opt/fanout/bin/worker"])
            #expect(worker.args == ["--input", "s3://bucket/in/"])
            #expect(worker.resources?.requests == ["cpu": "500m", "memory": "1Gi", "ephemeral-storage": "10Gi"])
            #expect(
                worker.resources?.limits == [
                    "cpu": "2", "memory": "1Gi", "ephemeral-storage": "10Gi", "nvidia.com/gpu": "1",
                ])
            let env = Dictionary(uniqueKeysWithValues: (worker.env ?? []).map { ($0.name, $0) })
            #expect(env["FANOUT_WORKER_RUN"]?.value == "20261124-203512-9f3c01ab")
            #expect(env["FANOUT_WORKER_STATE"]?.value == "s3://bucket/.fanout/")
            #expect(env["FANOUT_WORKER_STEP"]?.value == "word-count")
            #expect(env["FANOUT_WORKER_SHARDS"]?.value == "0-19")
            #expect(env["FANOUT_WORKER_ATTEMPT"]?.value == "1")
            #expect(env["FANOUT_WORKER_SHARD"] == nil, "the shard comes from JOB_COMPLETION_INDEX")
            #expect(env["EXTRA_TOKEN"]?.valueFrom?.secretKeyRef == .init(name: "other", key: "token"))
            #expect(worker.envFrom == [EnvFromSource(secretRef: .init(name: "s3-credentials"))])
            let fetch = try #require(pod.initContainers?.first)
            #expect(fetch.image == "curlimages/curl:8.11.1")
            #expect(fetch.command?.last?.contains("sha256sum -c") == true)
            #expect(pod.volumes == [Volume(name: "fanout-bin", emptyDir: .init())])
        }

        @Test func podsPassPodSecuritysRestrictedLevelByDefault() throws {
            let jobs = try KubernetesBackend(options: fullOptions()).manifests(for: plan(shards: 2), namespace: "batch")
            let pod = try #require(jobs.first?.spec?.template.spec)
            #expect(
                pod.securityContext
                    == PodSecurityContext(
                        runAsUser: 65532, runAsGroup: 65532, runAsNonRoot: true, seccompProfile: .runtimeDefault))
            let hardened = SecurityContext(allowPrivilegeEscalation: false, capabilities: .init(drop: ["ALL"]))
            #expect(pod.containers.map(\.securityContext) == [hardened])
            #expect(pod.initContainers?.map(\.securityContext) == [hardened])
            #expect(pod.volumes?.allSatisfy { $0.emptyDir != nil } == true, "the only volume type needed, and allowed")
        }

        @Test func anotherUserRootOrEachImagesOwn() throws {
            func podContext(_ user: Int?) throws -> PodSecurityContext? {
                var options = fullOptions()
                options.runAsUser = user
                let jobs = try KubernetesBackend(options: options).manifests(for: plan(shards: 1), namespace: "n")
                return jobs.first?.spec?.template.spec.securityContext
            }
            #expect(
                try podContext(1000)
                    == .init(runAsUser: 1000, runAsGroup: 1000, runAsNonRoot: true, seccompProfile: .runtimeDefault))
            #expect(
                try podContext(0) == .init(runAsUser: 0, runAsGroup: 0, seccompProfile: .runtimeDefault),
                "root does not claim to be non-root, which the kubelet would refuse")
            #expect(try podContext(nil) == .init(seccompProfile: .runtimeDefault))
        }

        @Test func aJobPerShardFailsAtOnceOnlyWhenTheImageCannotRunTheProgram() throws {
            var options = fullOptions()
            options.mode = .jobPerShard
            let jobs = try KubernetesBackend(options: options).manifests(for: plan(shards: 2), namespace: "batch")
            #expect(jobs.count == 2)
            #expect(
                jobs.allSatisfy {
                    $0.spec?.podFailurePolicy?.rules == [
                        PodFailurePolicyRule(
                            action: "FailJob",
                            onExitCodes: .init(containerName: "worker", operator: "In", values: [127, 128]))
                    ]
                })
            #expect(jobs.allSatisfy { $0.spec?.backoffLimit == 0 })
            options.failJobExitCodes = []
            let bare = try KubernetesBackend(options: options).manifests(for: plan(shards: 1), namespace: "batch")
            #expect(bare[0].spec?.podFailurePolicy == nil)
        }

        @Test func aRerunRunsItsShardsAtTheirAttemptWithRaisedMemoryInAJobOfItsOwn() throws {
            var rerun = plan([3, 7, 8, 9], attempt: 3)
            rerun.wave = 2
            rerun.memoryBytes = 2 << 30
            rerun.isBackup = true
            rerun.isolation = CrashIsolation(crashMessage: "Fatal error: boom")
            let jobs = try KubernetesBackend(options: fullOptions()).manifests(for: rerun, namespace: "batch")
            let job = try #require(jobs.first)
            #expect(jobs.count == 1)
            #expect(job.metadata.name == "fanout-20261124-203512-9f3c01ab-k3x9z-2")
            #expect(job.metadata.labels?["fanout.dev/backup"] == "true")
            #expect(job.spec?.completions == 4)
            let template = try #require(job.spec?.template)
            #expect(template.metadata?.annotations?["fanout.dev/shards"] == "3,7-9")
            #expect(template.metadata?.labels?["fanout.dev/attempt"] == "3")
            let worker = template.spec.containers[0]
            #expect(worker.resources?.requests?["memory"] == "2Gi")
            #expect(worker.resources?.limits?["memory"] == "2Gi")
            let env = Dictionary(uniqueKeysWithValues: (worker.env ?? []).map { ($0.name, $0.value ?? "") })
            #expect(env["FANOUT_WORKER_SHARDS"] == "3,7-9")
            #expect(env["FANOUT_WORKER_ATTEMPT"] == "3")
            #expect(env["FANOUT_WORKER_ISOLATE"] == "1")
            #expect(env["FANOUT_WORKER_CRASH"] == "Fatal error: boom")

            // Each pod finds its shard from its completion index, as a worker reads its environment.
            var podEnvironment = env
            podEnvironment["JOB_COMPLETION_INDEX"] = "2"
            #expect(try WorkerAssignment.current(podEnvironment)?.shard == 8)
            #expect(try WorkerAssignment.current(podEnvironment)?.attempt == 3)
        }

        @Test func theDefaultImagesRunTheShippedExecutable() async throws {
            var options = KubernetesBackend.Options()
            options.executable = "/bin/true"
            options.arguments = ["run", "s3://bucket/in/"]
            var armPlan = plan(shards: 3)
            armPlan.executableArchitecture = "arm64"
            let backend = KubernetesBackend(options: options)
            let job = try #require(try backend.manifests(for: armPlan, namespace: "batch").first)
            let pod = try #require(job.spec?.template.spec)

            // The worker runs the downloaded file in the official slim image of this build's Swift release, which
            // carries the Swift runtime, Foundation and libcurl.
            let worker = pod.containers[0]
            #expect(WorkerImage.swiftRuntime == "swift:\(WorkerImage.swiftRelease)-noble-slim")
            #expect(worker.image == WorkerImage.swiftRuntime)
            #expect(worker.command == ["/opt/fanout/bin/worker"])
            #expect(worker.args == ["run", "s3://bucket/in/"])
            #expect(
                worker.volumeMounts == [VolumeMount(name: "fanout-bin", mountPath: "/opt/fanout/bin", readOnly: true)])

            // The init container's image has what its script calls: sh, curl and sha256sum.
            let fetch = try #require(pod.initContainers?.first)
            #expect(pod.initContainers?.count == 1)
            #expect(fetch.image == "curlimages/curl:8.11.1")
            #expect(fetch.image == options.downloaderImage)
            let script = try #require(fetch.command?.last)
            #expect(fetch.command?.first == "sh")
            #expect(script.hasPrefix(#"curl -fsSL --retry 5 --retry-connrefused "$FANOUT_EXECUTABLE_URL" -o "#))
            #expect(script.contains(#"sha256sum -c -"#))
            #expect(script.hasSuffix("chmod +x /opt/fanout/bin/worker"))
            #expect(fetch.volumeMounts == [VolumeMount(name: "fanout-bin", mountPath: "/opt/fanout/bin")])
            // Explicit requests and limits: a ResourceQuota that counts limits requires them of every container.
            #expect(fetch.resources?.requests == ["cpu": "100m", "memory": "64Mi"])
            #expect(fetch.resources?.limits == ["cpu": "500m", "memory": "128Mi"])

            // Pods land on nodes of the executable's architecture, unless the options choose.
            #expect(pod.nodeSelector == ["kubernetes.io/arch": "arm64"])
            options.scheduling.nodeSelector = ["kubernetes.io/arch": "amd64", "pool": "batch"]
            let chosen = try KubernetesBackend(options: options).manifests(for: armPlan, namespace: "batch")
            #expect(chosen.first?.spec?.template.spec.nodeSelector == ["kubernetes.io/arch": "amd64", "pool": "batch"])

            // The default manifest is valid as it stands.
            let yaml = try backend.manifestYAML(for: armPlan, namespace: "batch")
            for version in ["1.29.0", nil] {
                let result = try await validate(yaml, version: version)
                let output = String(decoding: result.standardOutput, as: UTF8.self) + result.errorTail
                #expect(result.succeeded, "kubernetes-validate \(version ?? "newest"): \(output)\n\(yaml)")
            }
        }

        @Test func theDefaultImageIsOfTheToolchainsSwiftRelease() async throws {
            let result = try await ChildProcess.run("swift", arguments: ["--version"])
            let text = String(decoding: result.standardOutput, as: UTF8.self) + result.errorTail
            // "Swift version 6.3.1 (swift-6.3.1-RELEASE)"
            let version = text.firstMatch(of: /Swift version (\d+\.\d+(\.\d+)?)/).map { String($0.1) }
            #expect(version != nil, "\(text)")
            #expect(WorkerImage.swiftRelease == version, "update WorkerImage.swiftRelease to \(version ?? "?")")
        }

        @Test func plansAboveTheCompletionLimitBecomeSeveralJobs() throws {
            var options = fullOptions()
            options.maxCompletionsPerJob = 4
            let jobs = try KubernetesBackend(options: options).manifests(
                for: plan(shards: 10), namespace: "batch")
            #expect(jobs.map(\.spec?.completions) == [4, 4, 2])
            #expect(jobs.map { $0.spec?.template.metadata?.annotations?["fanout.dev/shards"] } == ["0-3", "4-7", "8-9"])
            #expect(
                jobs.map { job in
                    job.spec?.template.spec.containers[0].env?.first { $0.name == "FANOUT_WORKER_SHARDS" }?.value
                } == ["0-3", "4-7", "8-9"])
            #expect(jobs.compactMap(\.metadata.name) == (0..<3).map { "fanout-20261124-203512-9f3c01ab-k3x9z-\($0)" })
            #expect(jobs.compactMap(\.spec?.parallelism).reduce(0, +) >= 8)
        }

        @Test func theDefaultLimitIsTheAPIs() throws {
            var options = fullOptions()
            options.shipExecutable = false
            options.command = ["/usr/local/bin/tool"]
            let jobs = try KubernetesBackend(options: options).manifests(for: plan(shards: 250_001), namespace: "n")
            #expect(jobs.map(\.spec?.completions) == [100_000, 100_000, 50_001])
            #expect(jobs.allSatisfy { $0.spec?.template.spec.initContainers == nil })
            #expect(jobs[0].spec?.template.spec.containers[0].command == ["/usr/local/bin/tool"])
        }

        /// A plan of 250,001 shards: the API server (the test server, which checks the Job API's cross-field
        /// rules that schema validation does not) accepts every Job, created with `dryRun=All`, one request each.
        @Test func aQuarterMillionShardsBecomeJobsTheAPIServerAccepts() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                var options = fullOptions()
                options.namespace = namespace
                let jobs = try KubernetesBackend(options: options).manifests(for: plan(shards: 250_001), namespace: namespace)
                #expect(jobs.map(\.spec?.completions) == [100_000, 100_000, 50_001])
                // `<job-name>-<completions-1>` is a pod's hostname label: 63 characters at most.
                #expect(jobs.allSatisfy { "\($0.metadata.name ?? "")-\(($0.spec?.completions ?? 1) - 1)".count <= 63 })
                let before = client.requests.byOperation["create jobs", default: 0]
                for job in jobs { _ = try await client.create(job, namespace: namespace, dryRun: true) }
                #expect(client.requests.byOperation["create jobs", default: 0] - before == jobs.count)
                #expect(try await client.list(Job.self).items.isEmpty, "a dry run stores nothing")

                // The same server refuses what breaks the rules: above 100,000 completions with a per-index
                // back-off limit, maxFailedIndexes is required.
                var tooLarge = jobs[0]
                tooLarge.spec?.completions = 100_001
                tooLarge.spec?.parallelism = 100_001
                let refused = await #expect(throws: KubernetesError.self) {
                    _ = try await client.create(tooLarge, namespace: namespace, dryRun: true)
                }
                #expect("\(refused.map { "\($0)" } ?? "")".contains("maxFailedIndexes"), "\(String(describing: refused))")
            }
        }

        @Test func scatteredShardsAreSplitIntoJobsOfBoundedLists() {
            #expect(
                KubernetesBackend.jobShardLists(shards: [9, 0, 1, 2, 5, 6], maxPerJob: 100).map(\.description)
                    == ["0-2,5-6,9"])
            #expect(KubernetesBackend.jobShardLists(shards: Array(0..<250), maxPerJob: 100).map(\.count) == [100, 100, 50])
            // Every other shard: a run each, so a Job holds at most maxRunsPerJob of them.
            let scattered = (0..<2500).map { $0 * 2 }
            let lists = KubernetesBackend.jobShardLists(shards: scattered, maxPerJob: 100_000)
            #expect(lists.map(\.count) == [1000, 1000, 500])
            #expect(lists.flatMap(\.shards) == scattered)
        }

        @Test func shardListsReadBackAsWritten() {
            let list = ShardList([0, 1, 2, 5, 9, 10])
            #expect(list.description == "0-2,5,9-10")
            #expect(ShardList(parsing: "0-2,5,9-10") == list)
            #expect((0..<6).map { list[$0] } == [0, 1, 2, 5, 9, 10])
            #expect(list[6] == nil && list[-1] == nil)
            for bad in ["", "3-1", "a", "1,,2", "-1", "1-2-3"] { #expect(ShardList(parsing: bad) == nil, "\(bad)") }
        }

        @Test func credentialsAreNeverWrittenIntoAManifest() throws {
            var options = fullOptions()
            options.environment["AWS_SECRET_ACCESS_KEY"] = "hunter2"
            let error = #expect(throws: KubernetesError.self) {
                _ = try KubernetesBackend(options: options).manifests(for: plan(shards: 1), namespace: "n")
            }
            #expect(error?.code == .invalidConfiguration)
            #expect(error?.description.contains("secretEnvironment") == true)
            #expect(error?.description.contains("hunter2") == false)
        }

        @Test func theGuidesManifestsPassStrictSchemaValidation() async throws {
            let guide = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("docs/KUBERNETES.md")
            let text = try String(contentsOf: guide, encoding: .utf8)
            // Every ```yaml block, its indentation (inside a list item) removed.
            var blocks: [String] = []
            var current: [Substring]?
            var indent = 0
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                let trimmed = line.drop { $0 == " " }
                if current == nil, trimmed == "```yaml" {
                    current = []
                    indent = line.count - trimmed.count
                } else if current != nil, trimmed == "```" {
                    blocks.append(current!.joined(separator: "\n"))
                    current = nil
                } else if current != nil {
                    current!.append(line.dropFirst(min(indent, line.prefix { $0 == " " }.count)))
                }
            }
            try #require(!blocks.isEmpty, "the guide holds manifests")
            for block in blocks {
                #expect(block.contains("kind: Role"))
                for version in ["1.29.0", nil] {
                    let result = try await validate(block, version: version)
                    let output = String(decoding: result.standardOutput, as: UTF8.self) + result.errorTail
                    #expect(result.succeeded, "kubernetes-validate \(version ?? "newest"): \(output)\n\(block)")
                    #expect(!output.contains("INVALID") && !output.lowercased().contains("error"), "\(output)")
                }
            }
        }

        /// `kubectl create --dry-run=server` of the manifests in `namespace`: its output and its warnings.
        private func kubectlCreate(_ options: KubernetesBackend.Options, namespace: String) async throws -> (
            created: String, warnings: String
        ) {
            let yaml = try KubernetesBackend(options: options).manifestYAML(for: plan(shards: 4), namespace: namespace)
            let file = FileManager.default.temporaryDirectory.appendingPathComponent(
                "fanout-kubectl-\(UUID().uuidString).yaml")
            try Data(yaml.utf8).write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            let result = try await ChildProcess.run(
                "kubectl",
                arguments: [
                    "--kubeconfig", try KubeTestServer.kubeconfig, "create", "--dry-run=server", "-o", "name", "-f",
                    file.path,
                ])
            #expect(result.succeeded, "\(result)")
            return (String(decoding: result.standardOutput, as: UTF8.self), result.errorTail)
        }

        /// In a namespace that warns of pods violating Pod Security's `restricted` level, as the API server warns
        /// of a Job's pod template.
        @Test func kubectlAcceptsTheManifestsAndRestrictedHasNothingToSay() async throws {
            try await KubeTestServer.withNamespace(labels: ["pod-security.kubernetes.io/warn": "restricted"]) {
                namespace, _ in
                var options = fullOptions()
                options.scheduling = .init()
                let (created, warnings) = try await kubectlCreate(options, namespace: namespace)
                #expect(created.contains("job.batch/fanout-20261124-203512-9f3c01ab-k3x9z"))
                #expect(!warnings.contains("PodSecurity"), "\(warnings)")

                options.runAsUser = 0
                let (_, root) = try await kubectlCreate(options, namespace: namespace)
                #expect(
                    root.contains(
                        #"Warning: would violate PodSecurity "restricted:latest": runAsNonRoot != true (pod or "#
                            + #"containers "fetch-worker", "worker" must set securityContext.runAsNonRoot=true), "#
                            + "runAsUser=0 (pod must not set runAsUser=0)"), "\(root)")
            }
        }
    }
}
