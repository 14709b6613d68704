extension Duration {
    /// The duration in seconds, with its fraction: for timeouts in C APIs, JSON, and rates.
    public var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
