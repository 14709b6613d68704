public import Foundation

extension HTTPClient.Configuration {
    /// The variables that change the stall threshold and the retry budget of ``HTTPClient/shared``, and so of
    /// every worker process, which inherits them from its driver.
    public enum EnvironmentVariable {
        /// Seconds without a byte after which a transfer is aborted and retried (``stallTimeout``); `0` disables.
        public static let stallTimeout = "FANOUT_HTTP_STALL_TIMEOUT"
        /// Seconds after the first attempt when no new attempt starts (``RetryPolicy/budget``).
        public static let retryBudget = "FANOUT_HTTP_RETRY_BUDGET"
        /// Attempts in all (``RetryPolicy/maxAttempts``).
        public static let maxAttempts = "FANOUT_HTTP_MAX_ATTEMPTS"
        /// Seconds of the largest backoff (``RetryPolicy/maxDelay``).
        public static let maxDelay = "FANOUT_HTTP_RETRY_MAX_DELAY"
    }

    /// The defaults, changed by whichever of ``EnvironmentVariable``'s variables are set to a number; others are
    /// ignored.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        func seconds(_ name: String) -> Duration? {
            guard let text = environment[name], let value = Double(text), value.isFinite, value >= 0 else {
                return nil
            }
            return .milliseconds(Int64(value * 1000))
        }
        if let stall = seconds(EnvironmentVariable.stallTimeout) {
            configuration.stallTimeout = stall == .zero ? nil : stall
        }
        if let budget = seconds(EnvironmentVariable.retryBudget) { configuration.retry.budget = budget }
        if let maxDelay = seconds(EnvironmentVariable.maxDelay) { configuration.retry.maxDelay = maxDelay }
        if let text = environment[EnvironmentVariable.maxAttempts], let attempts = Int(text), attempts >= 1 {
            configuration.retry.maxAttempts = attempts
        }
        return configuration
    }
}
