import FanoutStorage
import FanoutTestSupport
import Foundation
import Testing

/// `fanout run --backend kubernetes` against the Kubernetes API test server, with the binary shipped to the pods
/// through a presigned URL from the loopback S3 server.
extension KubernetesTests {
@Suite struct RunCommandKubernetesTests {
    @Test func aRunOnJobsWithTheBinaryShippedThroughAPresignedURL() async throws {
        let kubeconfig = try TestEnvironment.value("FANOUT_TEST_KUBECONFIG")
        let namespace = "cli-\(UUID().uuidString.prefix(8).lowercased())"
        let client = try makeS3Client()
        try await withTemporaryBucket(client: client) { bucket in
            for index in 0..<20 {
                try await client.putObject(
                    bucket: bucket, key: "logs/\(index).log", data: Data(String(repeating: "line\n", count: index).utf8))
            }
            var environment = try FanoutBinary.environment()
            environment["KUBECONFIG"] = kubeconfig
            let secret = try await runProcess(
                URL(fileURLWithPath: "/usr/bin/env"),
                ["kubectl", "--context", "token", "-n", namespace, "create", "secret", "generic", "s3-credentials",
                 "--from-literal=AWS_ACCESS_KEY_ID=testing", "--from-literal=AWS_SECRET_ACCESS_KEY=testing"],
                environment: environment)
            #expect(secret.status == 0, "\(secret.stderr)")

            let endpoint = try TestEnvironment.s3Endpoint.absoluteString
            let kubernetesFlags = [
                "--backend", "kubernetes", "--context", "token", "--namespace", namespace, "--shards", "4",
                "--secret-env", "s3-credentials", "--env", "AWS_ENDPOINT_URL=\(endpoint)", "--env", "AWS_REGION=us-east-1",
            ]
            let dryRun = try await FanoutBinary.run(
                ["run", "s3://\(bucket)/logs/", "--dry-run"] + kubernetesFlags + ["--", "wc", "-l", "{}"],
                environment: environment)
            #expect(dryRun.status == 0, "\(dryRun.stderr)")
            #expect(dryRun.stdout.contains("kind: Job"))
            #expect(dryRun.stdout.contains("completionMode: Indexed"))
            #if arch(x86_64)
            #expect(dryRun.stdout.contains("kubernetes.io/arch: amd64"), "pods run where the shipped binary can")
            #elseif arch(arm64)
            #expect(dryRun.stdout.contains("kubernetes.io/arch: arm64"), "pods run where the shipped binary can")
            #endif
            #expect(!dryRun.stdout.contains("AWS_SECRET_ACCESS_KEY: testing"))

            let run = try await FanoutBinary.run(
                ["run", "s3://\(bucket)/logs/", "--reduce", "sum", "--json"] + kubernetesFlags + ["--", "wc", "-l", "{}"],
                environment: environment)
            #expect(run.status == 0, "\(run.stderr)")
            let summary = run.lines.last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            #expect(summary?["result"] as? Double == Double((0..<20).reduce(0, +)))
            #expect(summary?["done"] as? Int == 20)

            let jobs = try await runProcess(
                URL(fileURLWithPath: "/usr/bin/env"),
                ["kubectl", "--context", "token", "-n", namespace, "get", "jobs", "-o", "jsonpath={.items[*].spec.template.spec.initContainers[0].env[*].value}"],
                environment: environment)
            #expect(jobs.stdout.contains("X-Amz-Signature="), "pods fetch the binary through a presigned URL")
        }
    }

    @Test func aDetachedRunFinishesOnTheClusterAndLogsShowItsPods() async throws {
        let kubeconfig = try TestEnvironment.value("FANOUT_TEST_KUBECONFIG")
        let namespace = "cli-\(UUID().uuidString.prefix(8).lowercased())"
        let client = try makeS3Client()
        try await withTemporaryBucket(client: client) { bucket in
            for index in 0..<6 {
                try await client.putObject(
                    bucket: bucket, key: "in/\(index).txt", data: Data(String(repeating: "x\n", count: index).utf8))
            }
            try await withTemporaryDirectory { folder in
                var environment = try FanoutBinary.environment()
                environment["KUBECONFIG"] = kubeconfig
                environment["XDG_STATE_HOME"] = folder.path
                // The namespace and context come from the environment, as a user's defaults would.
                environment["FANOUT_CONTEXT"] = "token"
                environment["FANOUT_NAMESPACE"] = namespace
                let secret = try await runProcess(
                    URL(fileURLWithPath: "/usr/bin/env"),
                    ["kubectl", "--context", "token", "-n", namespace, "create", "secret", "generic", "s3-credentials",
                     "--from-literal=AWS_ACCESS_KEY_ID=testing", "--from-literal=AWS_SECRET_ACCESS_KEY=testing"],
                    environment: environment)
                #expect(secret.status == 0, "\(secret.stderr)")
                let endpoint = try TestEnvironment.s3Endpoint.absoluteString
                let state = "s3://\(bucket)/.fanout/"
                let detached = try await FanoutBinary.run([
                    "run", "s3://\(bucket)/in/", "--detach", "--json", "--backend", "kubernetes", "--shards", "2",
                    "--secret-env", "s3-credentials", "--env", "AWS_ENDPOINT_URL=\(endpoint)", "--env",
                    "AWS_REGION=us-east-1", "--reduce", "sum", "--", "sh", "-c", #"echo "counting $1" >&2; wc -l < "$1""#,
                    "sh", "{}",
                ], environment: environment)
                #expect(detached.status == 0, "\(detached.stderr)")
                let event = try JSONSerialization.jsonObject(with: Data(detached.stdout.utf8)) as? [String: Any]
                let runID = try #require(event?["run"] as? String, "\(detached.stdout)")
                #expect(event?["backend"] as? String == "kubernetes")

                var status = "unfinished"
                let deadline = ContinuousClock.now + .seconds(120)
                while status == "unfinished" && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(500))
                    let result = try await FanoutBinary.run(
                        ["status", runID, "--state", state, "--json"], environment: environment)
                    let info = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
                    status = info?["status"] as? String ?? status
                }
                #expect(status == "complete")
                let results = try await FanoutBinary.run(
                    ["results", runID, "--state", state, "--reduce", "sum"], environment: environment)
                #expect(results.stdout == "\((0..<6).reduce(0, +))\n", "\(results.stderr)")

                let logs = try await FanoutBinary.run(["logs", runID, "--state", state, "--json"], environment: environment)
                #expect(logs.status == 0, "\(logs.stderr)")
                let entries = logs.stdout.split(separator: "\n").compactMap {
                    try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
                }
                let pods = entries.filter { $0["type"] as? String == "pod" }
                #expect(Set(pods.compactMap { $0["shard"] as? Int }) == [0, 1], "one pod per shard: \(logs.stdout)")
                #expect(pods.allSatisfy { $0["phase"] as? String == "Succeeded" })
                #expect(entries.contains { $0["type"] as? String == "driver" }, "the background driver's log")

                let one = try await FanoutBinary.run(["logs", runID, "--state", state, "--shard", "1"], environment: environment)
                #expect(one.stdout.contains("==> pod "))
                #expect(one.stdout.contains("shard 1, Succeeded"))
                #expect(!one.stdout.contains("shard 0, Succeeded"))
            }
        }
    }

    @Test func cancellingADetachedRunDeletesItsJobs() async throws {
        let kubeconfig = try TestEnvironment.value("FANOUT_TEST_KUBECONFIG")
        let namespace = "cli-\(UUID().uuidString.prefix(8).lowercased())"
        let client = try makeS3Client()
        try await withTemporaryBucket(client: client) { bucket in
            for index in 0..<2 {
                try await client.putObject(bucket: bucket, key: "in/\(index).txt", data: Data("x\n".utf8))
            }
            try await withTemporaryDirectory { folder in
                var environment = try FanoutBinary.environment()
                environment["KUBECONFIG"] = kubeconfig
                environment["XDG_STATE_HOME"] = folder.path
                let kubectl = { (arguments: [String]) in
                    try await runProcess(
                        URL(fileURLWithPath: "/usr/bin/env"), ["kubectl", "--context", "token", "-n", namespace] + arguments,
                        environment: environment)
                }
                _ = try await kubectl(["create", "secret", "generic", "s3-credentials",
                    "--from-literal=AWS_ACCESS_KEY_ID=testing", "--from-literal=AWS_SECRET_ACCESS_KEY=testing"])
                let endpoint = try TestEnvironment.s3Endpoint.absoluteString
                let state = "s3://\(bucket)/.fanout/"
                let detached = try await FanoutBinary.run([
                    "run", "s3://\(bucket)/in/", "--detach", "-q", "--backend", "kubernetes", "--context", "token",
                    "--namespace", namespace, "--secret-env", "s3-credentials", "--env", "AWS_ENDPOINT_URL=\(endpoint)",
                    "--env", "AWS_REGION=us-east-1", "--", "sleep", "60",
                ], environment: environment)
                #expect(detached.status == 0, "\(detached.stderr)")
                let runID = detached.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                let selector = "fanout.dev/run=\(runID)"

                var jobs = ""
                let deadline = ContinuousClock.now + .seconds(60)
                while jobs.isEmpty && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(250))
                    jobs = try await kubectl(["get", "jobs", "-l", selector, "-o", "name"]).stdout
                        .trimmingCharacters(in: .whitespacesAndNewlines)
                }
                #expect(!jobs.isEmpty, "the background driver creates the run's Job")

                let cancel = try await FanoutBinary.run(["cancel", runID, "--state", state], environment: environment)
                #expect(cancel.status == 0, "\(cancel.stderr)")
                #expect(cancel.stdout.contains("stopped its background driver"))
                let left = try await kubectl(["get", "jobs,pods", "-l", selector, "-o", "name"])
                #expect(left.status == 0, "\(left.stderr)")
                #expect(left.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(left.stdout)")
            }
        }
    }

    @Test func ctrlCLeavesNoJobsAndCancelCleansUpAfterAKilledDriver() async throws {
        let kubeconfig = try TestEnvironment.value("FANOUT_TEST_KUBECONFIG")
        let namespace = "cli-\(UUID().uuidString.prefix(8).lowercased())"
        let client = try makeS3Client()
        try await withTemporaryBucket(client: client) { bucket in
            for index in 0..<2 {
                try await client.putObject(bucket: bucket, key: "in/\(index).txt", data: Data("x\n".utf8))
            }
            var environment = try FanoutBinary.environment()
            environment["KUBECONFIG"] = kubeconfig
            let kubectl = { (arguments: [String]) in
                try await runProcess(
                    URL(fileURLWithPath: "/usr/bin/env"), ["kubectl", "--context", "token", "-n", namespace] + arguments,
                    environment: environment)
            }
            _ = try await kubectl(["create", "secret", "generic", "s3-credentials",
                "--from-literal=AWS_ACCESS_KEY_ID=testing", "--from-literal=AWS_SECRET_ACCESS_KEY=testing"])
            let endpoint = try TestEnvironment.s3Endpoint.absoluteString
            let state = "s3://\(bucket)/.fanout/"
            let cluster = ["--context", "token", "--namespace", namespace]
            let arguments = [
                "run", "s3://\(bucket)/in/", "--backend", "kubernetes", "--secret-env", "s3-credentials",
                "--env", "AWS_ENDPOINT_URL=\(endpoint)", "--env", "AWS_REGION=us-east-1",
            ] + cluster + ["--", "sleep", "60"]

            /// Starts the run in the foreground and waits for one of its pods to run; the run id.
            func startRun() async throws -> (RunningFanout, String) {
                let running = try RunningFanout(arguments, environment: environment)
                var runID = ""
                var pods = ""
                let deadline = ContinuousClock.now + .seconds(60)
                while pods.isEmpty && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(250))
                    if runID.isEmpty, let line = running.standardError.split(separator: "\n").first(where: { $0.hasPrefix("run ") }) {
                        runID = String(line.dropFirst(4).prefix { $0 != ":" })
                    }
                    guard !runID.isEmpty else { continue }
                    pods = try await kubectl([
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
            let left = try await kubectl(["get", "jobs,pods", "-l", "fanout.dev/run=\(firstID)", "-o", "name"])
            #expect(left.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(left.stdout)")

            // A driver killed outright leaves its Job: `runs --kubernetes` shows it and `cancel` deletes it.
            let (second, secondID) = try await startRun()
            second.send(SIGKILL)
            _ = try await second.wait()
            let runs = try await FanoutBinary.run(["runs", "--state", state, "--kubernetes", "--json"] + cluster, environment: environment)
            #expect(runs.status == 0, "\(runs.stderr)")
            let onCluster = runs.lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                .filter { $0["source"] as? String == "cluster" }
            #expect(onCluster.map { $0["runID"] as? String } == [secondID])
            #expect(onCluster.first?["status"] as? String == "running")
            let cancel = try await FanoutBinary.run(["cancel", secondID, "--state", state] + cluster, environment: environment)
            #expect(cancel.status == 0, "\(cancel.stderr)")
            #expect(cancel.stdout.contains("deleted its 1 Job"), "\(cancel.stdout)")
            try await eventually(.seconds(30), "the killed run's pods to go") {
                try await kubectl(["get", "jobs,pods", "-l", "fanout.dev/run=\(secondID)", "-o", "name"]).stdout
                    .trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            }
        }
    }
}
}
