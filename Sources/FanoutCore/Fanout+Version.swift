extension Fanout {
    /// This package's version, which `fanout --version` prints; the one place it is written.
    public static let version = "0.1.0"
}
