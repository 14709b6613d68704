import FanoutTestSupport
import Foundation
import Testing

/// `fanout run --backend kubernetes` in a namespace that enforces Pod Security's `restricted` level, on the
/// Kubernetes API test server, whose admission refuses violating pods with the real API server's messages.
extension KubernetesTests {
    @Suite struct RunCommandPodSecurityTests {
        @Test(.timeLimit(.minutes(2)))
        func runsPassRestrictedAndRunningAsRootFailsAtOnceWithTheAdmissionMessage() async throws {
            let files = ["0.txt": Data("x\n".utf8), "1.txt": Data("x\ny\n".utf8)]
            try await ClusterRunFixture.with(files: files) { fixture in
                let label = try await fixture.kubectl([
                    "label", "namespace", fixture.namespace, "pod-security.kubernetes.io/enforce=restricted",
                ])
                #expect(label.status == 0, "\(label.stderr)")
                let flags = try fixture.kubernetesFlags

                let dryRun = try await FanoutBinary.run(
                    ["run", fixture.input, "--dry-run", "--run-as-user", "1000"] + flags + ["--", "wc", "-l", "{}"],
                    environment: fixture.environment)
                #expect(dryRun.status == 0, "\(dryRun.stderr)")
                for line in ["runAsUser: 1000", "runAsGroup: 1000", "runAsNonRoot: true", "type: RuntimeDefault",
                    "allowPrivilegeEscalation: false", "- ALL"]
                {
                    #expect(dryRun.stdout.contains(line), "\(line) in \(dryRun.stdout)")
                }

                let run = try await FanoutBinary.run(
                    ["run", fixture.input, "-q", "--reduce", "sum"] + flags + ["--", "wc", "-l", "{}"],
                    environment: fixture.environment)
                #expect(run.status == 0, "\(run.stderr)")
                #expect(run.stdout == "3\n")
                let jobsBefore = try await fixture.kubectl(["get", "jobs", "-o", "name"]).stdout

                // Root, asked for in the configuration file as a run flag: refused by admission, and said so.
                try await withTemporaryDirectory { folder in
                    let config = folder.appendingPathComponent("config")
                    try Data("run-as-user = 0\n".utf8).write(to: config)
                    var environment = fixture.environment
                    environment["FANOUT_CONFIG"] = config.path
                    let root = try await FanoutBinary.run(
                        ["run", fixture.input, "--no-cache"] + flags + ["--", "wc", "-l", "{}"],
                        environment: environment)
                    #expect(root.status != 0 && root.status != 130, "\(root.stderr)")
                    #expect(
                        root.stderr.contains(#"is forbidden: violates PodSecurity "restricted:latest": "#),
                        "\(root.stderr)")
                    #expect(root.stderr.contains("runAsUser=0 (pod must not set runAsUser=0)"), "\(root.stderr)")
                    let labels = "kubectl get namespace \(fixture.namespace) --show-labels"
                    #expect(root.stderr.contains(labels), "\(root.stderr)")
                    #expect(root.stderr.contains("--run-as-user"), "\(root.stderr)")
                }
                // The refused run left nothing: only the first run's finished Job remains.
                let jobsAfter = try await fixture.kubectl(["get", "jobs", "-o", "name"]).stdout
                #expect(jobsAfter == jobsBefore, "\(jobsAfter)")
                let pods = try await fixture.kubectl([
                    "get", "pods", "-o", "name", "--field-selector=status.phase!=Succeeded",
                ])
                #expect(pods.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(pods.stdout)")
            }
            let help = try await FanoutBinary.run(["run", "--help"])
            let flat = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            #expect(flat.contains("--run-as-user <uid>"), "\(help.stdout)")
            #expect(flat.contains("(default 65532, a non-root user"), "\(help.stdout)")
        }

        @Test func aUserIdOutOfRangeIsRefused() async throws {
            let run = try await FanoutBinary.run(["run", "/tmp", "--run-as-user=-1", "--", "true"])
            #expect(run.status != 0)
            #expect(run.stderr.contains("--run-as-user must be a user id from 0 to 2147483647"), "\(run.stderr)")
        }
    }
}
