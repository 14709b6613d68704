import Testing

@testable import FanoutHTTP

/// The `FANOUT_HTTP_*` variables that set the stall threshold and retry budget of the shared client and of workers.
@Suite struct HTTPClientEnvironmentTests {
    typealias Variable = HTTPClient.Configuration.EnvironmentVariable

    @Test func withoutVariablesTheDefaultsHold() {
        let configuration = HTTPClient.Configuration.fromEnvironment([:])
        #expect(configuration.stallTimeout == .seconds(60))
        #expect(configuration.retry.budget == .seconds(300))
        #expect(configuration.retry.maxAttempts == 150)
        #expect(configuration.retry.maxDelay == .seconds(2))
        #expect(configuration.retry.mode == .adaptive)
    }

    @Test("FANOUT_HTTP_RETRY_MODE, else AWS_RETRY_MODE, sets the retry mode; legacy is standard; others are ignored")
    func theRetryMode() {
        func mode(_ environment: [String: String]) -> RetryPolicy.Mode {
            HTTPClient.Configuration.fromEnvironment(environment).retry.mode
        }
        #expect(mode([Variable.retryMode: "standard"]) == .standard)
        #expect(mode([Variable.awsRetryMode: "standard"]) == .standard)
        #expect(mode([Variable.awsRetryMode: "legacy"]) == .standard)
        #expect(mode([Variable.awsRetryMode: "Adaptive"]) == .adaptive)
        #expect(mode([Variable.retryMode: "adaptive", Variable.awsRetryMode: "standard"]) == .adaptive)
        #expect(mode([Variable.retryMode: "fast", Variable.awsRetryMode: "standard"]) == .standard)
        #expect(mode([Variable.retryMode: "fast"]) == .adaptive)
        #expect(RetryPolicy.default.mode == .standard)
    }

    @Test func variablesSetTheStallThresholdAndTheBudgets() {
        let configuration = HTTPClient.Configuration.fromEnvironment([
            Variable.stallTimeout: "6", Variable.retryBudget: "30.5", Variable.maxAttempts: "7",
            Variable.maxDelay: "0.2",
        ])
        #expect(configuration.stallTimeout == .seconds(6))
        #expect(configuration.retry.budget == .milliseconds(30_500))
        #expect(configuration.retry.maxAttempts == 7)
        #expect(configuration.retry.maxDelay == .milliseconds(200))
    }

    @Test func zeroDisablesTheStallCheck() {
        #expect(HTTPClient.Configuration.fromEnvironment([Variable.stallTimeout: "0"]).stallTimeout == nil)
    }

    @Test("Unusable values are ignored", arguments: ["", "soon", "-1", "inf", "nan", "1e400"])
    func unusableValues(value: String) {
        let configuration = HTTPClient.Configuration.fromEnvironment([
            Variable.stallTimeout: value, Variable.retryBudget: value, Variable.maxAttempts: value,
            Variable.maxDelay: value,
        ])
        #expect(configuration.stallTimeout == .seconds(60))
        #expect(configuration.retry.budget == .seconds(300))
        #expect(configuration.retry.maxAttempts == 150)
        #expect(configuration.retry.maxDelay == .seconds(2))
    }
}
