import FanoutTestSupport
import Foundation
import Testing

/// `--kubeconfig` and `--profile` as kubectl and the AWS CLI mean them, on the Kubernetes API test server.
@Suite(.serialized) struct KubernetesConfigFlagsTests {
    @Test func kubeconfigAndProfileChooseTheClusterAndCredentialsHereAndStayOffThePods() async throws {
        try await ClusterRunFixture.with(files: ["a.txt": Data("1\n2\n".utf8), "b.txt": Data("3\n".utf8)]) { fixture in
            let kubeconfig = try TestEnvironment.value("FANOUT_TEST_KUBECONFIG")
            let folder = try #require(fixture.environment["XDG_STATE_HOME"])
            // Nothing found by default: no KUBECONFIG, no ~/.kube/config, no credentials in variables.
            var environment = fixture.environment
            environment["KUBECONFIG"] = nil
            environment["HOME"] = folder
            for name in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"] {
                environment[name] = nil
            }
            let credentials = folder + "/aws-credentials"
            try Data("[loopback]\naws_access_key_id = testing\naws_secret_access_key = testing\n".utf8)
                .write(to: URL(fileURLWithPath: credentials))
            environment["AWS_SHARED_CREDENTIALS_FILE"] = credentials
            environment["AWS_CONFIG_FILE"] = folder + "/no-aws-config"
            let flags = try fixture.kubernetesFlags

            let withoutFlags = try await FanoutBinary.run(
                ["run", fixture.input, "-q"] + flags + ["--", "wc", "-l", "{}"], environment: environment)
            #expect(withoutFlags.status != 0, "no kubeconfig and no credentials here: \(withoutFlags.stderr)")

            let run = try await FanoutBinary.run(
                ["run", fixture.input, "--reduce", "sum", "-q", "--kubeconfig", kubeconfig, "--profile", "loopback"]
                    + flags + ["--", "wc", "-l", "{}"],
                environment: environment)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout == "3\n", "\(run.stdout)")
            let arguments = try await fixture.kubectl([
                "get", "jobs", "-o", "jsonpath={.items[*].spec.template.spec.containers[0].args}",
            ])
            #expect(arguments.stdout.contains("wc"), "\(arguments.stdout)")
            #expect(!arguments.stdout.contains("--kubeconfig") && !arguments.stdout.contains("--profile"),
                "files of this machine are not named to pods: \(arguments.stdout)")

            let runs = try await FanoutBinary.run(
                ["runs", "--kubernetes", "--kubeconfig", kubeconfig, "--profile", "loopback"] + fixture.cluster
                    + ["--state", fixture.state],
                environment: environment)
            #expect(runs.status == 0, "\(runs.stderr)")

            let missing = try await FanoutBinary.run(
                ["run", fixture.input, "-q", "--kubeconfig", folder + "/nope", "--profile", "loopback"] + flags
                    + ["--", "wc", "-l", "{}"],
                environment: environment)
            #expect(missing.status != 0)
            #expect(missing.stderr.contains("cannot read the kubeconfig \(folder)/nope"), "\(missing.stderr)")

            let unknownProfile = try await FanoutBinary.run(
                ["ls", fixture.input, "--profile", "nosuch"], environment: environment)
            #expect(unknownProfile.status == 1)
            #expect(unknownProfile.stderr.contains("the AWS profile 'nosuch' is in neither"), "\(unknownProfile.stderr)")
        }
    }
}
