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
        /// `adaptive` or `standard` (``RetryPolicy/mode``).
        public static let retryMode = "FANOUT_HTTP_RETRY_MODE"
        /// The AWS SDKs' variable, read when ``retryMode`` is not set: `adaptive`, or `standard` and `legacy`
        /// (both ``RetryPolicy/Mode/standard``).
        public static let awsRetryMode = "AWS_RETRY_MODE"
    }

    /// The defaults, changed by whichever of ``EnvironmentVariable``'s variables are set to a number (or a mode);
    /// others are ignored.
    ///
    /// The retry mode is ``RetryPolicy/Mode/adaptive`` unless a variable says otherwise: this is the configuration
    /// of ``HTTPClient/shared``, which S3 requests use, and S3 throttles a client that sends too fast.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.retry.mode = .adaptive
        for name in [EnvironmentVariable.retryMode, EnvironmentVariable.awsRetryMode] {
            guard let text = environment[name]?.lowercased(), !text.isEmpty else { continue }
            if let mode = RetryPolicy.Mode(rawValue: text == "legacy" ? "standard" : text) {
                configuration.retry.mode = mode
                break
            }
        }
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
