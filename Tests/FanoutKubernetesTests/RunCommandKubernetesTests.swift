import FanoutKubernetes
import FanoutStorage
import FanoutTestSupport
import Foundation
import Testing

/// `fanout run --backend kubernetes` against the Kubernetes API test server, with the binary shipped to the pods
/// through a presigned URL from the loopback S3 server.
extension KubernetesTests {
@Suite struct RunCommandKubernetesTests {
    @Test func aRunOnJobsWithTheBinaryShippedThroughAPresignedURL() async throws {
        let files = Dictionary(uniqueKeysWithValues: (0..<20).map {
            ("\($0).log", Data(String(repeating: "line\n", count: $0).utf8))
        })
        try await ClusterRunFixture.with(files: files) { fixture in
            let flags = try fixture.kubernetesFlags + ["--shards", "4"]
            let identity = ["--service-account", "fanout-worker", "--image-pull-secret", "registry"]
            let dryRun = try await FanoutBinary.run(
                ["run", fixture.input, "--dry-run"] + flags + identity + ["--", "wc", "-l", "{}"],
                environment: fixture.environment)
            #expect(dryRun.status == 0, "\(dryRun.stderr)")
            #expect(dryRun.stdout.contains("kind: Job"))
            #expect(dryRun.stdout.contains("completionMode: Indexed"))
            #if arch(x86_64)
            #expect(dryRun.stdout.contains("kubernetes.io/arch: amd64"), "pods run where the shipped binary can")
            #elseif arch(arm64)
            #expect(dryRun.stdout.contains("kubernetes.io/arch: arm64"), "pods run where the shipped binary can")
            #endif
            // Credentials only by reference to the Secret, never as values.
            #expect(!dryRun.stdout.contains("AWS_SECRET_ACCESS_KEY") && !dryRun.stdout.contains("value: testing"))
            #expect(dryRun.stdout.contains("secretRef:") && dryRun.stdout.contains("name: s3-credentials"))
            #expect(dryRun.stdout.contains("serviceAccountName: fanout-worker"))
            #expect(dryRun.stdout.contains("namespace: \(fixture.namespace)"))
            #expect(dryRun.stdout.contains(fixture.state), "the state prefix the run would use")
            #expect(!dryRun.stdout.contains("--dry-run"), "workers get the run's arguments, not the dry run's")
            #expect(dryRun.stdout.contains("- name: registry"), "the image pull secret")
            // From the backend's own code: the plan as comments first, the Jobs' limits, placeholders for what only
            // the run makes; and the API server takes it as it is.
            #expect(dryRun.stdout.hasPrefix("# what this fanout run would create on Kubernetes (nothing was created)\n# 20 files in 4 shards"),
                "\(dryRun.stdout.prefix(300))")
            // As the real Job: every failed pod ends its index, and the scheduler decides each re-run.
            #expect(dryRun.stdout.contains("backoffLimitPerIndex: 0") && !dryRun.stdout.contains("maxFailedIndexes"))
            #expect(dryRun.stdout.contains("up to 2 retries (disruptions and OOM kills use none)"))
            #expect(dryRun.stdout.contains("<a presigned URL of the shipped executable, made when the run starts>"))
            let manifests = try #require(fixture.environment["XDG_STATE_HOME"]) + "/dry-run.yaml"
            try Data(dryRun.stdout.utf8).write(to: URL(fileURLWithPath: manifests))
            let applied = try await fixture.kubectl(["create", "--dry-run=server", "-o", "name", "-f", manifests])
            #expect(applied.status == 0 && applied.stdout.contains("job.batch/"), "\(applied.stderr)")
            let tolerant = try await FanoutBinary.run(
                ["run", fixture.input, "--dry-run", "--tolerate-failures", "3"] + flags + ["--", "wc", "-l", "{}"],
                environment: fixture.environment)
            #expect(tolerant.status == 0 && !tolerant.stdout.contains("maxFailedIndexes"), "the scheduler applies the tolerance")
            let local = try await FanoutBinary.run(
                ["run", "/tmp", "--dry-run", "--state", fixture.state] + flags + ["--", "wc", "-l", "{}"],
                environment: fixture.environment)
            #expect(local.status != 0 && local.stderr.contains("where pods cannot read it"), "\(local.stderr)")
            // --job-per-shard (once --jobs) makes a Job per shard; -j/--jobs is GNU parallel's: pods at once.
            let perShard = try await FanoutBinary.run(
                ["run", fixture.input, "--dry-run", "--job-per-shard", "--jobs", "2"] + flags + ["--", "wc", "-l"],
                environment: fixture.environment)
            #expect(perShard.status == 0, "\(perShard.stderr)")
            #expect(perShard.stdout.components(separatedBy: "kind: Job").count - 1 == 4, "\(perShard.stdout)")
            #expect(!perShard.stdout.contains("completionMode: Indexed"))

            let run = try await FanoutBinary.run(
                ["run", fixture.input, "--reduce", "sum", "--json"] + flags + ["--", "wc", "-l", "{}"],
                environment: fixture.environment)
            #expect(run.status == 0, "\(run.stderr)")
            let summary = jsonLines(run.stdout).last
            #expect(summary?["result"] as? Double == Double((0..<20).reduce(0, +)))
            #expect(summary?["done"] as? Int == 20)
            // The control plane's load is reported: a handful of requests (a list, a create, two watches), not one per file.
            let requests = try #require(summary?["apiRequests"] as? Int, "\(run.stdout)")
            #expect(requests > 0 && requests < 20, "\(requests)")

            let jobs = try await fixture.kubectl([
                "get", "jobs", "-o", "jsonpath={.items[*].spec.template.spec.initContainers[0].env[*].value}",
            ])
            #expect(jobs.stdout.contains("X-Amz-Signature="), "pods fetch the binary through a presigned URL")
        }
    }

    @Test func aRunWithoutAStatePrefixItsPodsCanReachIsRefusedBeforeAnythingIsCreated() async throws {
        try await ClusterRunFixture.with(files: ["a.txt": Data("x\n".utf8)]) { fixture in
            var environment = fixture.environment
            environment["FANOUT_STATE"] = nil
            environment["FANOUT_CONFIG"] = nil
            environment["XDG_CONFIG_HOME"] = environment["XDG_STATE_HOME"].map { $0 + "/config" }
            let run = try await FanoutBinary.run(
                ["run", fixture.input] + (try fixture.kubernetesFlags) + ["--", "wc", "-l", "{}"],
                environment: environment)
            #expect(run.status != 0)
            let file = (environment["XDG_CONFIG_HOME"] ?? "") + "/fanout/config"
            #expect(run.stderr.contains("Add this line to \(file):"), "\(run.stderr)")
            #expect(
                run.stderr.contains("state = s3://\(fixture.bucket)/fanout-state/"), "the line to add: \(run.stderr)")
            // Nothing was created: no state in the bucket, no Jobs on the cluster.
            let keys = try await makeS3Client().listObjects(bucket: fixture.bucket, prefix: "").collect().map(\.key)
            #expect(keys == ["in/a.txt"], "\(keys)")
            let jobs = try await fixture.kubectl(["get", "jobs", "-o", "name"])
            #expect(jobs.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(jobs.stdout)")
        }
    }

    @Test func aMissingKubeconfigContextOrNamespaceIsFoundBeforeAnythingIsStored() async throws {
        try await ClusterRunFixture.with(files: ["a.txt": Data("x\n".utf8)]) { fixture in
            var noKubeconfig = fixture.environment
            noKubeconfig["KUBECONFIG"] = fixture.environment["XDG_STATE_HOME"].map { $0 + "/no-such-kubeconfig" }
            noKubeconfig["HOME"] = fixture.environment["XDG_STATE_HOME"]
            noKubeconfig["KUBERNETES_SERVICE_HOST"] = nil
            // A name no test uses: the test server makes namespaces on first use, as a run would.
            let absent = "absent-\(UUID().uuidString.prefix(8).lowercased())"
            let mistakes: [(flags: [String], environment: [String: String], message: String)] = [
                (["--context", "nope", "--namespace", fixture.namespace], fixture.environment, "no context 'nope'"),
                (fixture.cluster, noKubeconfig, "no kubeconfig found"),
                (["--context", "token", "--namespace", absent], fixture.environment,
                 "the namespace '\(absent)' does not exist in context 'token'"),
            ]
            for mistake in mistakes {
                let run = try await FanoutBinary.run(
                    ["run", fixture.input, "-q", "--backend", "kubernetes", "--secret-env", "s3-credentials"]
                        + mistake.flags + ["--", "wc", "-l", "{}"],
                    environment: mistake.environment)
                #expect(run.status != 0, "\(mistake.flags)")
                #expect(run.stderr.contains(mistake.message), "\(run.stderr)")
                let runs = try await FanoutBinary.run(["runs", "--state", fixture.state], environment: fixture.environment)
                #expect(runs.stdout.contains("no runs under"), "no unfinished run is left: \(runs.stdout)")
            }
        }
    }

    @Test func gcDeletesShippedExecutablesNoKeptRunUsesAndCacheEntriesOfDeletedRuns() async throws {
        try await ClusterRunFixture.with(files: ["a.txt": Data("x\n".utf8)]) { fixture in
            let client = try makeS3Client()
            func keys(_ prefix: String) async throws -> [String] {
                try await client.listObjects(bucket: fixture.bucket, prefix: ".fanout/v1/\(prefix)").collect().map(\.key)
            }
            let run = try await FanoutBinary.run(
                ["run", fixture.input, "-q", "--reduce", "sum"] + (try fixture.kubernetesFlags) + ["--", "wc", "-l", "{}"],
                environment: fixture.environment)
            #expect(run.status == 0, "\(run.stderr)")
            let shipped = try await keys("bin/")
            #expect(shipped.count == 1, "the run shipped its executable: \(shipped)")
            #expect(try await keys("cache/").count == 1)
            // An executable an earlier build shipped, which no run uses any more.
            let stale = ".fanout/v1/bin/" + String(repeating: "0", count: 64)
            try await client.putObject(bucket: fixture.bucket, key: stale, data: Data("old".utf8))

            let keeping = try await FanoutBinary.run(
                ["gc", "--older-than", "1d", "--state", fixture.state], environment: fixture.environment)
            #expect(keeping.status == 0, "\(keeping.stderr)")
            #expect(keeping.stdout.contains("deleting the shipped executable \(stale)"), "\(keeping.stdout)")
            #expect(try await keys("bin/") == shipped, "the kept run's executable stays")
            #expect(try await keys("cache/").count == 1, "the kept run's cache entry stays")

            let all = try await FanoutBinary.run(
                ["gc", "--older-than", "0s", "--state", fixture.state], environment: fixture.environment)
            #expect(all.status == 0, "\(all.stderr)")
            #expect(try await keys("bin/").isEmpty, "\(all.stdout)")
            #expect(try await keys("cache/").isEmpty, "\(all.stdout)")
            #expect(try await keys("runs/").isEmpty, "\(all.stdout)")
        }
    }

    @Test func keysThatAreShellCodeRunNothingInPods() async throws {
        let names = ["$(touch X).txt", "`touch X`.txt", "a;b", "'q'", "\"dq\"", "x{size}.txt", "-rf", "it's"]
        let files = Dictionary(uniqueKeysWithValues: names.enumerated().map {
            ($0.element, Data(String(repeating: "l\n", count: $0.offset + 1).utf8))
        })
        try await ClusterRunFixture.with(files: files) { fixture in
            let run = try await FanoutBinary.run(
                ["run", fixture.input, "--reduce", "sum", "-q", "--shards", "2"] + (try fixture.kubernetesFlags)
                    + ["--", "sh", "-c", "wc -l < {}"],
                environment: fixture.environment)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout == "\((1...names.count).reduce(0, +))\n")
        }
    }

    @Test func aDetachedRunFinishesOnTheClusterAndLogsShowItsPods() async throws {
        let files = Dictionary(uniqueKeysWithValues: (0..<6).map { ("\($0).txt", Data(String(repeating: "x\n", count: $0).utf8)) })
        try await ClusterRunFixture.with(files: files) { fixture in
            var environment = fixture.environment
            // The namespace and context come from the environment, as a user's defaults would.
            environment["FANOUT_CONTEXT"] = "token"
            environment["FANOUT_NAMESPACE"] = fixture.namespace
            let endpoint = try TestEnvironment.s3Endpoint.absoluteString
            let state = fixture.state
            let detached = try await FanoutBinary.run([
                "run", fixture.input, "--detach", "--json", "--backend", "kubernetes", "--shards", "2",
                "--secret-env", "s3-credentials", "--env", "AWS_ENDPOINT_URL=\(endpoint)", "--env",
                "AWS_REGION=us-east-1", "--reduce", "sum", "--", "sh", "-c", #"echo "counting $1" >&2; wc -l < "$1""#,
                "sh", "{}",
            ], environment: environment)
            #expect(detached.status == 0, "\(detached.stderr)")
            let event = jsonLines(detached.stdout).first
            let runID = try #require(event?["run"] as? String, "\(detached.stdout)")
            #expect(event?["backend"] as? String == "kubernetes")

            var status = "unfinished"
            let deadline = ContinuousClock.now + .seconds(120)
            while status == "unfinished" && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(500))
                let result = try await FanoutBinary.run(
                    ["status", runID, "--state", state, "--json"], environment: environment)
                status = jsonLines(result.stdout).first?["status"] as? String ?? status
            }
            #expect(status == "complete")
            let summary = try await FanoutBinary.run(["status", runID, "--state", state], environment: environment)
            #expect(summary.stdout.contains("files      6/6 done"), "\(summary.stdout)")
            #expect(summary.stdout.contains("pods       "), "\(summary.stdout)")
            let results = try await FanoutBinary.run(
                ["results", runID, "--state", state, "--reduce", "sum"], environment: environment)
            #expect(results.stdout == "\((0..<6).reduce(0, +))\n", "\(results.stderr)")

            let logs = try await FanoutBinary.run(["logs", runID, "--state", state, "--json"], environment: environment)
            #expect(logs.status == 0, "\(logs.stderr)")
            let entries = jsonLines(logs.stdout)
            let pods = entries.filter { $0["type"] as? String == "pod" }
            #expect(Set(pods.compactMap { $0["shard"] as? Int }) == [0, 1], "one pod per shard: \(logs.stdout)")
            #expect(pods.allSatisfy { $0["phase"] as? String == "Succeeded" })
            #expect(entries.contains { $0["type"] as? String == "driver" }, "the background driver's log")

            let one = try await FanoutBinary.run(["logs", runID, "--state", state, "--shard", "1"], environment: environment)
            #expect(one.stdout.contains("==> pod "))
            #expect(one.stdout.contains("shard 1, Succeeded"))
            #expect(!one.stdout.contains("shard 0, Succeeded"))

            // Without the cluster, the stored failures are still shown.
            let offline = try await FanoutBinary.run(
                ["logs", runID, "--state", state, "--context", "no-such-context"], environment: environment)
            #expect(offline.status == 0, "\(offline.stderr)")
            #expect(offline.stderr.contains("cannot read the pods' logs"), "\(offline.stderr)")
            #expect(offline.stdout.contains("no failed files recorded"), "\(offline.stdout)")
        }
    }

    /// Starts a detached run of two files whose pods sleep, waits for its Job, and runs `body` with the run's id
    /// and the names of its Jobs.
    private func withDetachedSleepingRun(
        _ body: (ClusterRunFixture, String, String) async throws -> Void
    ) async throws {
        let files = ["0.txt": Data("x\n".utf8), "1.txt": Data("x\n".utf8)]
        try await ClusterRunFixture.with(files: files) { fixture in
            let detached = try await FanoutBinary.run(
                ["run", fixture.input, "--detach", "-q"] + fixture.kubernetesFlags + ["--", "sh", "-c", "sleep 60"],
                environment: fixture.environment)
            #expect(detached.status == 0, "\(detached.stderr)")
            let runID = detached.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let jobs = try await awaitAnswer { try await fixture.objects("jobs", of: runID) }
            #expect(!jobs.isEmpty, "the background driver creates the run's Job")
            try await body(fixture, runID, jobs)
        }
    }

    /// Waits until `probe` returns a non-empty answer (at most a minute) and returns it.
    private func awaitAnswer(_ probe: () async throws -> String) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let answer = try await probe()
            if !answer.isEmpty { return answer }
            try await Task.sleep(for: .milliseconds(250))
        }
        return ""
    }

    @Test func theShrinkAndFailFlagsExcludeEachOtherAndTheHelpExplainsThem() async throws {
        let both = try await FanoutBinary.run([
            "run", NSTemporaryDirectory(), "--backend", "kubernetes", "--shrink-pending", "--fail-pending", "--",
            "wc", "-l", "{}",
        ])
        #expect(both.status != 0)
        #expect(both.stderr.contains("--shrink-pending and --fail-pending exclude each other"), "\(both.stderr)")
        let help = try await FanoutBinary.run(["run", "--help"])
        #expect(help.status == 0)
        let flat = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(flat.contains("--shrink-pending"))
        #expect(flat.contains("lower the Job's parallelism to the pods that did find a node"), "\(help.stdout)")
        #expect(flat.contains("Then the run waits for them, unless --shrink-pending or --fail-pending"))
    }

    @Test(.timeLimit(.minutes(2)))
    func aMisspelledSecretFailsTheRunAtOnceWithTheCommandThatCreatesIt() async throws {
        let files = ["0.txt": Data("x\n".utf8), "1.txt": Data("x\n".utf8)]
        try await ClusterRunFixture.with(files: files) { fixture in
            let run = try await FanoutBinary.run(
                ["run", fixture.input] + fixture.kubernetesFlags
                    + ["--secret-env", "fanout-typo-credentials", "--", "wc", "-l", "{}"],
                environment: fixture.environment)
            #expect(run.status != 0 && run.status != 130, "\(run.stderr)")
            #expect(run.stderr.contains(#"secret "fanout-typo-credentials" not found"#), "\(run.stderr)")
            #expect(
                run.stderr.contains("kubectl -n \(fixture.namespace) create secret generic fanout-typo-credentials"),
                "\(run.stderr)")
            #expect(run.stderr.contains("--wait-unstartable"), "\(run.stderr)")
            let left = try await fixture.kubectl(["get", "jobs,pods", "-o", "name"])
            #expect(left.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(left.stdout)")
        }
        let help = try await FanoutBinary.run(["run", "--help"])
        let flat = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(flat.contains("--wait-unstartable"))
        #expect(flat.contains("When a pod cannot start (a --secret-env Secret that does not exist"), "\(help.stdout)")
    }

    @Test func cancellingADetachedRunDeletesItsJobs() async throws {
        try await withDetachedSleepingRun { fixture, runID, jobs in

            let cancel = try await FanoutBinary.run(
                ["cancel", runID, "--state", fixture.state], environment: fixture.environment)
            #expect(cancel.status == 0, "\(cancel.stderr)")
            #expect(cancel.stdout.contains("stopped its background driver"))
            let left = try await fixture.objects("jobs,pods", of: runID)
            #expect(left.isEmpty, "\(left)")
        }
    }

    @Test func attachResumesWithTheRunsOwnSecretsEnvironmentAndReducer() async throws {
        let files = ["0.txt": Data("a\nb\n".utf8), "1.txt": Data("c\n".utf8)]
        try await ClusterRunFixture.with(files: files) { fixture in
            let gate = "/tmp/fanout-gate-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: gate) }
            let command = ["sh", "-c", "while [ ! -e \(gate) ]; do sleep 0.1; done; wc -l < {}"]
            let detached = try await FanoutBinary.run(
                ["run", fixture.input, "--detach", "-q", "--reduce", "sum"] + (try fixture.kubernetesFlags) + ["--"]
                    + command,
                environment: fixture.environment)
            #expect(detached.status == 0, "\(detached.stderr)")
            let runID = detached.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            _ = try await awaitAnswer { try await fixture.objects("jobs", of: runID) }
            let cancel = try await FanoutBinary.run(
                ["cancel", runID, "--state", fixture.state], environment: fixture.environment)
            #expect(cancel.status == 0, "\(cancel.stderr)")
            _ = FileManager.default.createFile(atPath: gate, contents: nil)

            // No --backend, --secret-env, --env or --reduce: the run's own are used, so its pods can read S3.
            let attached = try await FanoutBinary.run(
                ["attach", runID, "--state", fixture.state, "--run-stored-command"], environment: fixture.environment)
            #expect(attached.status == 0, "\(attached.stderr)")
            #expect(attached.stdout == "3\n", "the run's sum, not every line: \(attached.stdout)")
        }
    }

    @Test func podsRunWithTheConfigurationFilesRunFlags() async throws {
        let files = ["0.txt": Data("x\n".utf8), "1.txt": Data("x\ny\n".utf8)]
        try await ClusterRunFixture.with(files: files) { fixture in
            try await withTemporaryDirectory { folder in
                // The pods have no configuration file: the flags it adds must reach them in their arguments, or
                // their step (whose version follows --accept-exit) would not be the run's.
                let config = folder.appendingPathComponent("config")
                try Data("accept-exit = 0,1\nreduce = sum\n".utf8).write(to: config)
                var environment = fixture.environment
                environment["FANOUT_CONFIG"] = config.path
                let run = try await FanoutBinary.run(
                    ["run", fixture.input, "-q"] + (try fixture.kubernetesFlags)
                        + ["--", "sh", "-c", "wc -l < {}; exit 1"],
                    environment: environment)
                #expect(run.status == 0, "\(run.stderr)")
                #expect(run.stdout == "3\n")
            }
        }
    }

    @Test func aPodOOMKilledRunsAgainWithMoreMemoryAndJSONSaysSo() async throws {
        let files = ["0.txt": Data("0\n".utf8), "1.txt": Data("100\n".utf8)]
        try await ClusterRunFixture.with(files: files) { fixture in
            // The command holds as many MiB as its file says: 100 MiB is more than 64Mi, less than 256Mi.
            let hold = "import sys, time; x = bytearray(int(open(sys.argv[1]).read()) << 20); time.sleep(0.5); print(len(x) >> 20)"
            let invalid = try await FanoutBinary.run(
                ["run", fixture.input, "--max-memory", "1Gi"] + (try fixture.kubernetesFlags) + ["--", "true"],
                environment: fixture.environment)
            #expect(invalid.status == 64 && invalid.stderr.contains("--max-memory needs --memory"), "\(invalid.stderr)")
            let run = try await FanoutBinary.run(
                ["run", fixture.input, "--json", "--shards", "2", "--retries", "0", "--memory", "64Mi",
                 "--max-memory", "256Mi", "--reduce", "sum"] + (try fixture.kubernetesFlags)
                    + ["--", "python3", "-c", hold, "{}"],
                environment: fixture.environment)
            #expect(run.status == 0, "\(run.stderr)")
            // The last JSON line is the run's summary.
            let last = run.stdout.split(separator: "\n").last.map(String.init) ?? ""
            let summary = try #require(
                try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any], "\(run.stdout)")
            #expect(summary["result"] as? Int == 100)
            let shards = try #require(summary["shards"] as? [String: String], "\(summary)")
            let history = try #require(shards.values.first)
            #expect(shards.count == 1)
            #expect(history.hasPrefix("attempt 1 OOMKilled at 64Mi;"), "\(history)")
            #expect(history.hasSuffix("succeeded at 128Mi") || history.hasSuffix("succeeded at 256Mi"), "\(history)")
            // Told as it happened, as a notice event.
            #expect(run.stdout.contains("OOMKilled at 64Mi, running again at 128Mi"), "\(run.stdout)")
        }
    }

    @Test func aFleetFileSendsTheRunToTheClusterThatHasTheAcceleratorAndRefusesWhatNoneHas() async throws {
        let files = ["0.txt": Data("x\n".utf8), "1.txt": Data("x\ny\n".utf8)]
        try await ClusterRunFixture.with(files: files) { fixture in
            let second = try await fixture.onSecondCluster()
            defer { Task { [second] in try? await second.delete(Namespace.self, name: fixture.namespace) } }
            try await withTemporaryDirectory { folder in
                let fleet = folder.appendingPathComponent("fleet.yaml")
                try Data("""
                    clusters:
                      - name: plain
                        kubeconfig: [\(try KubeTestServer.kubeconfig)]
                        namespace: \(fixture.namespace)
                        region: test-region
                        capacity: 4
                        zones:
                          - name: test-zone-a
                            machineTypes: [{name: test-standard, cpu: 4, memory: 16Gi}]
                      - name: gpus
                        kubeconfig: [\(try SecondCluster.kubeconfig)]
                        namespace: \(fixture.namespace)
                        region: test-region-b
                        capacity: 4
                        zones:
                          - name: test-zone-b
                            machineTypes: [{name: test-gpu, cpu: 8, memory: 32Gi, accelerators: {nvidia-l4: 4}}]

                    """.utf8).write(to: fleet)
                let podFlags = [
                    "--secret-env", "s3-credentials", "--env",
                    "AWS_ENDPOINT_URL=\(try TestEnvironment.s3Endpoint.absoluteString)", "--env", "AWS_REGION=us-east-1",
                ]
                let run = try await FanoutBinary.run(
                    ["run", fixture.input, "--fleet", fleet.path, "--accelerator", "nvidia-l4", "--reduce", "sum", "--json"]
                        + podFlags + ["--", "wc", "-l", "{}"],
                    environment: fixture.environment)
                #expect(run.status == 0, "\(run.stderr)")
                let summary = try #require(
                    try JSONSerialization.jsonObject(
                        with: Data((run.stdout.split(separator: "\n").last ?? "").utf8)) as? [String: Any])
                #expect(summary["result"] as? Int == 3)
                let runID = try #require(summary["run"] as? String)
                let onGPUs = try await second.list(Job.self).items
                #expect(!onGPUs.isEmpty && onGPUs.allSatisfy(\.succeeded))
                #expect(try await fixture.kubectl(["get", "jobs", "-o", "name"]).stdout.isEmpty, "nothing on plain")
                let arguments = onGPUs.first?.spec?.template.spec.containers.first?.args ?? []
                #expect(!arguments.contains("--fleet") && !arguments.contains("--accelerator"), "\(arguments)")
                // Later commands find the run's Jobs and pods on the cluster it ran on, without flags.
                let logs = try await FanoutBinary.run(["logs", runID], environment: fixture.environment)
                #expect(logs.status == 0 && logs.stdout.contains("=== cluster gpus ==="), "\(logs.stdout)\(logs.stderr)")
                let cancel = try await FanoutBinary.run(["cancel", runID], environment: fixture.environment)
                #expect(cancel.stdout.contains("Jobs on cluster gpus") || cancel.stdout.contains("Job on cluster gpus"),
                    "\(cancel.stdout)\(cancel.stderr)")
                #expect(try await second.list(Job.self).items.isEmpty)

                let dryRun = try await FanoutBinary.run(
                    ["run", fixture.input, "--fleet", fleet.path, "--dry-run"] + podFlags + ["--", "wc", "-l", "{}"],
                    environment: fixture.environment)
                #expect(dryRun.status == 0, "\(dryRun.stderr)")
                #expect(dryRun.stdout.contains("# cluster plain\n") && dryRun.stdout.contains("# cluster gpus\n"))
                #expect(dryRun.stdout.contains("topology.kubernetes.io/zone: test-zone-b"))

                let refused = try await FanoutBinary.run(
                    ["run", fixture.input, "--fleet", fleet.path, "--accelerator", "nvidia-h100:8"] + podFlags
                        + ["--", "wc", "-l", "{}"],
                    environment: fixture.environment)
                #expect(refused.status == 64, "\(refused.stderr)")
                #expect(refused.stderr.contains("nearest: gpus (test-zone-b: test-gpu"), "\(refused.stderr)")
                let typo = try await FanoutBinary.run(
                    ["run", fixture.input, "--accelerator", "nvidia-l4", "--backend", "kubernetes", "--", "true"],
                    environment: fixture.environment)
                #expect(typo.status == 64 && typo.stderr.contains("add --fleet FILE"), "\(typo.stderr)")
            }
        }
    }

    @Test func aSecondDriverFromAnotherMachineIsRefusedAndTouchesNoJob() async throws {
        try await withDetachedSleepingRun { fixture, runID, jobs in

            // Another machine: it knows nothing of the background driver's process, only the run's state.
            try await withTemporaryDirectory { elsewhere in
                var environment = fixture.environment
                environment["XDG_STATE_HOME"] = elsewhere.path
                let second = try await FanoutBinary.run(
                    ["attach", runID, "--state", fixture.state] + (try fixture.kubernetesFlags) + ["--", "sh", "-c", "sleep 60"],
                    environment: environment)
                #expect(second.status == 1)
                #expect(second.stderr.contains("is driven by"), "\(second.stderr)")
            }
            #expect(try await fixture.objects("jobs", of: runID) == jobs, "no second Job, none deleted")

            let cancel = try await FanoutBinary.run(
                ["cancel", runID, "--state", fixture.state], environment: fixture.environment)
            #expect(cancel.status == 0, "\(cancel.stderr)")
        }
    }

    @Test func attachFollowsTheJobsAKilledDriverLeftRunning() async throws {
        let files = ["0.txt": Data("a\nb\n".utf8), "1.txt": Data("c\n".utf8)]
        try await ClusterRunFixture.with(files: files) { fixture in
            try await withTemporaryDirectory { folder in
                // The commands wait at a gate; the test's pods run on this machine, so a file opens it.
                let gate = folder.appendingPathComponent("gate").path
                let command = ["sh", "-c", #"while [ ! -e "$2" ]; do sleep 0.05; done; wc -l < "$1""#, "sh", "{}", gate]
                let flags = try fixture.kubernetesFlags
                try await KubeTestServer.resetRequests()
                let first = try RunningFanout(
                    ["run", fixture.input, "--reduce", "sum", "--shards", "2"] + flags + ["--"] + command,
                    environment: fixture.environment)
                let runID = try await awaitAnswer {
                    guard let line = first.standardError.split(separator: "\n").first(where: { $0.hasPrefix("run ") })
                    else { return "" }
                    let id = String(line.dropFirst(4).prefix { $0 != ":" })
                    let running = try await fixture.kubectl([
                        "get", "pods", "-l", "fanout.dev/run=\(id)", "--field-selector", "status.phase=Running", "-o", "name",
                    ]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                    return running.split(separator: "\n").count == 2 ? id : ""
                }
                try #require(!runID.isEmpty, "both pods run: \(first.standardError)")
                first.send(SIGKILL)
                _ = try await first.wait()

                let attach = try RunningFanout(
                    // The killed driver's lease is still live: take the run over rather than wait for it to expire.
                    ["attach", runID, "--state", fixture.state, "--reduce", "sum", "--take-over"] + flags + ["--"]
                        + command,
                    environment: fixture.environment)
                let followed = try await awaitAnswer {
                    attach.standardError.contains("started by an earlier driver") ? "yes" : ""
                }
                #expect(followed == "yes", "\(attach.standardError)")
                _ = FileManager.default.createFile(atPath: gate, contents: nil)
                let result = try await attach.wait()
                #expect(result.status == 0, "\(result.stderr)")
                #expect(result.stdout == "3\n")
                // The shards ran once, in the Job the first driver created.
                let requests = try await KubeTestServer.requests()
                #expect(requests["create jobs"] == 1, "\(requests)")
                #expect(try await fixture.objects("pods", of: runID).split(separator: "\n").count == 2)
            }
        }
    }

    @Test func ctrlCLeavesNoJobsAndCancelCleansUpAfterAKilledDriver() async throws {
        let files = ["0.txt": Data("x\n".utf8), "1.txt": Data("x\n".utf8)]
        try await ClusterRunFixture.with(files: files) { fixture in
            let arguments = ["run", fixture.input] + (try fixture.kubernetesFlags) + ["--", "sh", "-c", "sleep 60"]

            /// Starts the run in the foreground and waits for one of its pods to run; the run id.
            func startRun() async throws -> (RunningFanout, String) {
                let running = try RunningFanout(arguments, environment: fixture.environment)
                var runID = ""
                let pods = try await awaitAnswer {
                    if runID.isEmpty,
                        let line = running.standardError.split(separator: "\n").first(where: { $0.hasPrefix("run ") })
                    {
                        runID = String(line.dropFirst(4).prefix { $0 != ":" })
                    }
                    guard !runID.isEmpty else { return "" }
                    return try await fixture.kubectl([
                        "get", "pods", "-l", "fanout.dev/run=\(runID)", "--field-selector", "status.phase=Running",
                        "-o", "name",
                    ]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                }
                try #require(!pods.isEmpty, "a pod of the run runs: \(running.standardError)")
                return (running, runID)
            }

            // Ctrl-C: the driver deletes the Jobs and waits for the pods to go before it exits.
            let (first, firstID) = try await startRun()
            first.send(SIGINT)
            let interrupted = try await first.wait()
            #expect(interrupted.status == 130, "\(interrupted.stderr)")
            #expect(interrupted.stderr.contains("run \(firstID) was cancelled"))
            let left = try await fixture.objects("jobs,pods", of: firstID)
            #expect(left.isEmpty, "\(left)")

            // A driver killed outright leaves its Job: `runs --kubernetes` shows it and `cancel` deletes it.
            let (second, secondID) = try await startRun()
            second.send(SIGKILL)
            _ = try await second.wait()
            let runs = try await FanoutBinary.run(
                ["runs", "--state", fixture.state, "--kubernetes", "--json"] + fixture.cluster,
                environment: fixture.environment)
            #expect(runs.status == 0, "\(runs.stderr)")
            let onCluster = jsonLines(runs.stdout).filter { $0["source"] as? String == "cluster" }
            #expect(onCluster.map { $0["runID"] as? String } == [secondID])
            #expect(onCluster.first?["status"] as? String == "running")
            // No --namespace: the run recorded where its Jobs went.
            let cancel = try await FanoutBinary.run(
                ["cancel", secondID, "--state", fixture.state], environment: fixture.environment)
            #expect(cancel.status == 0, "\(cancel.stderr)")
            #expect(cancel.stdout.contains("deleted its 1 Job"), "\(cancel.stdout)")
            try await eventually(.seconds(30), "the killed run's pods to go") {
                try await fixture.objects("jobs,pods", of: secondID).isEmpty
            }
        }
    }
}
}

/// What a `fanout run --backend kubernetes` test needs: a bucket with input files, a namespace holding the Secret
/// with the S3 credentials, a folder for detached runs' logs, and the environment and flags that point `fanout`
/// at them.
struct ClusterRunFixture {
    let bucket: String
    let namespace: String
    var environment: [String: String]

    var input: String { "s3://\(bucket)/in/" }
    var state: String { "s3://\(bucket)/.fanout/" }
    var cluster: [String] { ["--context", "token", "--namespace", namespace] }

    /// `--backend kubernetes` with the cluster, the Secret, and the loopback S3 server for the pods.
    var kubernetesFlags: [String] {
        get throws {
            ["--backend", "kubernetes"] + cluster + [
                "--secret-env", "s3-credentials", "--env",
                "AWS_ENDPOINT_URL=\(try TestEnvironment.s3Endpoint.absoluteString)", "--env", "AWS_REGION=us-east-1",
            ]
        }
    }

    /// Runs the real kubectl in the namespace.
    func kubectl(_ arguments: [String]) async throws -> FanoutBinary.Result {
        try await runProcess(
            URL(fileURLWithPath: "/usr/bin/env"), ["kubectl", "--context", "token", "-n", namespace] + arguments,
            environment: environment)
    }

    /// The names of the run's objects of `kinds` (`jobs`, `jobs,pods`) still on the cluster.
    func objects(_ kinds: String, of runID: String) async throws -> String {
        try await kubectl(["get", kinds, "-l", "fanout.dev/run=\(runID)", "-o", "name"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Creates the same namespace, with its Secret, on the second cluster; a client for it there.
    func onSecondCluster() async throws -> KubernetesClient {
        let second = try SecondCluster.client(namespace: namespace)
        _ = try await second.create(Namespace(name: namespace))
        _ = try await second.create(
            Secret(
                metadata: ObjectMeta(name: "s3-credentials"),
                stringData: ["AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"]))
        return second
    }

    /// Sets up `in/NAME` objects from `files` and runs `body`.
    static func with(files: [String: Data], _ body: (ClusterRunFixture) async throws -> Void) async throws {
        let client = try makeS3Client()
        try await withTemporaryBucket(client: client) { bucket in
            for (name, data) in files { try await client.putObject(bucket: bucket, key: "in/\(name)", data: data) }
            try await withTemporaryDirectory { folder in
                var environment = try FanoutBinary.environment()
                environment["KUBECONFIG"] = try TestEnvironment.value("FANOUT_TEST_KUBECONFIG")
                environment["XDG_STATE_HOME"] = folder.path
                // Pods reach the state only in the bucket.
                environment["FANOUT_STATE"] = "s3://\(bucket)/.fanout/"
                let fixture = ClusterRunFixture(
                    bucket: bucket, namespace: "cli-\(UUID().uuidString.prefix(8).lowercased())",
                    environment: environment)
                let secret = try await fixture.kubectl([
                    "create", "secret", "generic", "s3-credentials", "--from-literal=AWS_ACCESS_KEY_ID=testing",
                    "--from-literal=AWS_SECRET_ACCESS_KEY=testing",
                ])
                #expect(secret.status == 0, "\(secret.stderr)")
                try await body(fixture)
            }
        }
    }
}

/// Decodes each line of `text` that is a JSON object.
private func jsonLines(_ text: String) -> [[String: Any]] {
    text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
}

extension KubernetesTests {
    /// The word-count example, a Swift program with no Kubernetes code of its own but a backend choice, mapped in pods.
    @Suite struct ExampleOnKubernetesTests {
        @Test func wordCountRunsItsMapInPods() async throws {
            let files = [
                "a.txt": Data("the river and the stone\n".utf8),
                "b.txt": Data("The river runs\n".utf8),
                "c.txt": Data("stone\n".utf8),
            ]
            try await ClusterRunFixture.with(files: files) { fixture in
                var environment = fixture.environment
                environment["AWS_REGION"] = "us-east-1"
                let example = try FanoutBinary.location().deletingLastPathComponent().appendingPathComponent("word-count")
                let result = try await runProcess(
                    example,
                    [fixture.input, "--kubernetes", fixture.namespace, "--secret", "s3-credentials", "--top", "2"],
                    environment: environment)
                #expect(result.status == 0, "\(result.stderr)")
                #expect(result.lines.first?.hasPrefix("3 files, 9 words, 5 distinct") == true, "\(result.stdout)")
                #expect(result.lines.dropFirst().map { $0.split(separator: " ").last } == ["the", "river"], "ties in key order")
                let jobs = try await fixture.kubectl(["get", "jobs", "-o", "jsonpath={.items[*].spec.completionMode}"])
                #expect(jobs.stdout == "Indexed", "the map ran in an Indexed Job")
            }
        }

        /// The fleet example: a fleet declared in Swift, one map split across both test clusters, and a run that
        /// needs GPUs sent to the cluster that has them.
        @Test func fleetLineCountSplitsItsMapAcrossTheClustersOfAFleetDeclaredInCode() async throws {
            let files = Dictionary(uniqueKeysWithValues: (0..<12).map {
                ("f\($0).txt", Data(String(repeating: "line\n", count: $0 + 1).utf8))
            })
            try await ClusterRunFixture.with(files: files) { fixture in
                let second = try await fixture.onSecondCluster()
                defer { Task { [second] in try? await second.delete(Namespace.self, name: fixture.namespace) } }
                var environment = fixture.environment
                environment["AWS_REGION"] = "us-east-1"
                environment["FLEET_PLAIN_KUBECONFIG"] = try KubeTestServer.kubeconfig
                environment["FLEET_GPUS_KUBECONFIG"] = try SecondCluster.kubeconfig
                let example = try FanoutBinary.location().deletingLastPathComponent()
                    .appendingPathComponent("fleet-line-count")
                let flags = ["--namespace", fixture.namespace, "--secret", "s3-credentials"]

                let split = try await runProcess(example, [fixture.input] + flags, environment: environment)
                #expect(split.status == 0, "\(split.stderr)")
                #expect(split.lines.first?.hasPrefix("12 files, 78 lines") == true, "\(split.stdout)")
                let perCluster = Dictionary(uniqueKeysWithValues: split.lines.dropFirst().compactMap { line in
                    let parts = line.split(separator: ":")
                    return parts.count == 2 ? (String(parts[0]), Int(parts[1].split(separator: " ")[0]) ?? 0) : nil
                })
                #expect(perCluster.keys.sorted() == ["gpus", "plain"] && perCluster.values.reduce(0, +) == 6, "\(split.stdout)")

                // Other files (the same ones would come from the cache): all on the cluster with the GPUs.
                let client = try makeS3Client()
                for (name, data) in files { try await client.putObject(bucket: fixture.bucket, key: "gpu-in/\(name)", data: data) }
                let gpus = try await runProcess(
                    example, ["s3://\(fixture.bucket)/gpu-in/", "--accelerator", "nvidia-l4"] + flags, environment: environment)
                #expect(gpus.status == 0, "\(gpus.stderr)")
                #expect(gpus.lines.first?.hasPrefix("12 files, 78 lines") == true)
                #expect(Array(gpus.lines.dropFirst()) == ["gpus: 6 shards"], "\(gpus.stdout)")
            }
        }
    }
}
