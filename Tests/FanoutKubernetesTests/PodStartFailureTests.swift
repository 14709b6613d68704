import Testing

@testable import FanoutKubernetes

extension KubernetesTests {
    /// The kubelet's waiting messages read as causes, and the advice each gets: no server.
    @Suite struct PodStartFailureTests {
        private func failure(_ reason: String, _ message: String, image: String? = nil) -> PodStartFailure {
            PodStartFailure(pod: "p", shard: 3, container: "worker", reason: reason, message: message, image: image)
        }

        @Test func missingSecretsConfigMapsAndKeys() {
            let secret = failure("CreateContainerConfigError", #"secret "s3-credentials" not found"#)
            #expect(secret.cause == .missingSecret(name: "s3-credentials"))
            #expect(
                secret.advice(namespace: "batch").hasPrefix(
                    "Create the Secret: kubectl -n batch create secret generic s3-credentials --from-literal="))
            #expect(secret.description == #"pod p cannot start its container worker: CreateContainerConfigError: "#
                + #"secret "s3-credentials" not found"#)

            let key = failure("CreateContainerConfigError", "couldn't find key token in Secret batch/creds")
            #expect(key.cause == .missingSecretKey(secret: "creds", key: "token"))
            #expect(key.advice(namespace: "batch").contains("kubectl -n batch patch secret creds"))
            #expect(key.advice(namespace: "batch").contains(#"{"stringData":{"token":"VALUE"}}"#))

            #expect(
                failure("CreateContainerConfigError", #"configmap "settings" not found"#).cause
                    == .missingConfigMap(name: "settings"))
            #expect(
                failure("CreateContainerConfigError", "couldn't find key a in ConfigMap batch/settings").cause
                    == .missingConfigMapKey(configMap: "settings", key: "a"))
            let other = failure("CreateContainerError", "failed to reserve container name")
            #expect(other.cause == .other)
            #expect(other.advice(namespace: "batch") == "kubectl -n batch describe pod p shows why its container "
                + "cannot be created.")
        }

        @Test func imagesThatCannotBePulledOrNamed() {
            let backOff = failure("ImagePullBackOff", #"Back-off pulling image "registry.invalid/app:1""#)
            #expect(backOff.cause == .unpullableImage("registry.invalid/app:1"))
            let pulled = failure("ErrImagePull", "rpc error: ... no such host", image: "ghcr.io/team/app:2")
            #expect(pulled.cause == .unpullableImage("ghcr.io/team/app:2"))
            #expect(pulled.advice(namespace: "ns").contains("ghcr.io/team/app:2 (--image)"))
            #expect(pulled.advice(namespace: "ns").contains("--image-pull-secret"))
            #expect(!pulled.isDefinitivePullError)
            #expect(failure("ErrImagePull", "... ghcr.io/team/app:2: not found").isDefinitivePullError)
            #expect(failure("ErrImagePull", "pull access denied, repository does not exist").isDefinitivePullError)

            let invalid = failure(
                "InvalidImageName",
                #"Failed to apply default image tag "Bad:Name!": couldn't parse image reference "Bad:Name!": "#
                    + "invalid reference format")
            #expect(invalid.cause == .invalidImageName("Bad:Name!"))
            #expect(invalid.advice(namespace: "ns").hasPrefix("Correct the image name Bad:Name! (--image)"))
        }
    }
}
