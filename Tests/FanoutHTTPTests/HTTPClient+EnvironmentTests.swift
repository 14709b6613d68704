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
