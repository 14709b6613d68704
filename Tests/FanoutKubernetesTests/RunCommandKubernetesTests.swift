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
}
}
