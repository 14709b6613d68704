extension S3Client: ObjectStoreProvider {
    public static var scheme: String { "s3" }

    /// A client configured as the AWS CLI would be (``S3Configuration/fromEnvironment(_:profile:anonymous:logger:)``).
    public static func fromEnvironment(_ environment: [String: String]) -> S3Client {
        S3Client(configuration: .fromEnvironment(environment))
    }

    public func objectStore(bucket: String) -> any ObjectStore { store(bucket: bucket) }
}
