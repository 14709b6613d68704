extension GCSClient: ObjectStoreProvider {
    public static var scheme: String { "gs" }

    /// A client configured as Google's client libraries would be (``GCSConfiguration/fromEnvironment(_:)``).
    public static func fromEnvironment(_ environment: [String: String]) -> GCSClient {
        GCSClient(configuration: .fromEnvironment(environment))
    }

    public func objectStore(bucket: String) -> any ObjectStore { store(bucket: bucket) }
}
