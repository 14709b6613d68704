/// One kind of remote store, named by its URL scheme (`s3`, `gs`): the client that makes the store of a bucket.
///
/// Each kind lives in a folder of its own (`S3/`, `GCS/`) and is listed once, in ``ObjectStores/kinds``; the engine,
/// the workers and the CLI reach every kind through ``ObjectStores`` and never name one.
public protocol ObjectStoreProvider: Sendable {
    /// The URL scheme of its locations, without `://`: `s3`, `gs`.
    static var scheme: String { get }

    /// A provider configured from the environment, as the store's own command-line tools configure themselves.
    /// Must not do I/O: credentials are resolved on first use.
    static func fromEnvironment(_ environment: [String: String]) -> Self

    /// The store of one bucket.
    func objectStore(bucket: String) -> any ObjectStore
}
