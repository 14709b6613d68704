import Testing

@testable import FanoutKubernetes

extension KubernetesTests {
    /// The Job controller's `FailedCreate` messages read as causes, and the advice each gets: no server.
    @Suite struct PodCreationFailureTests {
        @Test func podSecurityAdmissionIsNamedWithItsLevelAndTheWayOut() {
            let failure = PodCreationFailure(
                job: "fanout-run-k3x9z",
                eventMessage: #"Error creating: pods "fanout-run-k3x9z-0-" is forbidden: violates PodSecurity "#
                    + #""restricted:latest": runAsUser=0 (pod must not set runAsUser=0)"#)
            #expect(failure.message.hasPrefix(#"pods "fanout-run-k3x9z-0-" is forbidden: violates PodSecurity"#))
            #expect(failure.cause == .podSecurity(level: "restricted:latest"))
            #expect(failure.isDefinitive)
            #expect(
                failure.reason == #"violates PodSecurity "restricted:latest": runAsUser=0 (pod must not set runAsUser=0)"#)
            #expect(failure.description.hasPrefix("the cluster refuses to create the pods of Job fanout-run-k3x9z: "))
            let advice = failure.advice(namespace: "batch")
            #expect(advice.contains(#"The namespace batch enforces Pod Security "restricted:latest""#))
            #expect(advice.contains("kubectl get namespace batch --show-labels"))
            #expect(advice.contains("--run-as-user at its default (65532)"))
        }

        @Test func quotasAndOtherRefusalsMayPassWithTime() {
            let quota = PodCreationFailure(
                job: "j", eventMessage: #"pods "j-0-" is forbidden: exceeded quota: compute, requested: pods=1"#)
            #expect(quota.cause == .quota)
            #expect(!quota.isDefinitive)
            #expect(quota.advice(namespace: "batch").hasPrefix("kubectl -n batch describe resourcequota"))
            let limits = PodCreationFailure(
                job: "j", eventMessage: #"pods "j-0-" is forbidden: failed quota: compute: must specify limits.cpu"#)
            #expect(limits.cause == .quota)
            let webhook = PodCreationFailure(
                job: "j", eventMessage: #"admission webhook "policy.example.com" denied the request: no"#)
            #expect(webhook.cause == .other)
            #expect(webhook.reason == webhook.message, "no pod name to leave out")
            #expect(webhook.advice(namespace: "batch") == "kubectl -n batch describe job j lists why the cluster "
                + "refuses the pods.")
        }
    }
}
