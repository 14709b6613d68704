import Testing

@testable import FanoutKubernetes

extension KubernetesTests {
    @Suite struct KubernetesErrorTests {
        @Test func aJobRejectedForPerIndexFieldsSuggestsAJobPerShard() {
            let invalid = KubernetesError(
                code: .invalid, message: #"Job.batch "x" is invalid"#, status: 422, reason: "Invalid",
                causes: [#"spec.podFailurePolicy.rules[1].action: Unsupported value: "FailIndex""#],
                operation: "create jobs")
            let hinted = invalid.hintingAtAnOlderCluster()
            #expect(hinted.code == .invalid)
            #expect(
                hinted.hint
                    == "The cluster may be older than 1.29: run with --job-per-shard (a Job per shard; Options.mode .jobPerShard).")
            #expect("\(hinted)".contains("older than 1.29: run with --job-per-shard"))

            // Strict field validation on a cluster that does not know the field: a 400.
            let unknown = KubernetesError(
                code: .badRequest, message: #"strict decoding error: unknown field "spec.backoffLimitPerIndex""#,
                status: 400)
            #expect(unknown.hintingAtAnOlderCluster().hint?.contains("--job-per-shard") == true)

            // Other rejections keep their own words.
            let other = KubernetesError(
                code: .invalid, message: "spec.template.spec.containers[0].image: Required value", status: 422)
            #expect(other.hintingAtAnOlderCluster().hint == nil)
            let forbidden = KubernetesError(
                code: .forbidden, message: "backoffLimitPerIndex", status: 403, hint: "Ask for a Role.")
            #expect(forbidden.hintingAtAnOlderCluster().hint == "Ask for a Role.")
        }
    }
}
