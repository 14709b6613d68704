public import Foundation

/// The kinds of remote store Fanout can reach, by URL scheme, each with its configured client.
///
/// `StorageLocation.store(in:)` picks the store of a location from here. A new kind of store is a folder beside
/// `S3/` and `GCS/` with an ``ObjectStoreProvider``, and one entry in ``kinds``.
public struct ObjectStores: Sendable {
    /// Every kind of remote store, in the order their schemes are suggested to users.
    public static let kinds: [any ObjectStoreProvider.Type] = [S3Client.self, GCSClient.self]

    /// The URL schemes of ``kinds``: `s3`, `gs`.
    public static var schemes: [String] { kinds.map { $0.scheme } }

    private var providers: [String: any ObjectStoreProvider]

    /// Every kind of store, configured from `environment`.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        var providers: [String: any ObjectStoreProvider] = [:]
        for kind in Self.kinds { providers[kind.scheme] = kind.fromEnvironment(environment) }
        self.providers = providers
    }

    /// These stores, with `provider` serving its scheme instead (a client configured by flags, or for a test).
    public func with(_ provider: some ObjectStoreProvider) -> ObjectStores {
        var copy = self
        copy.providers[type(of: provider).scheme] = provider
        return copy
    }

    /// The provider of one kind, as configured here.
    public func provider<Provider: ObjectStoreProvider>(_ kind: Provider.Type) -> Provider? {
        providers[kind.scheme] as? Provider
    }

    /// The store of `bucket` on the kind named by `scheme`.
    /// - Throws: ``ObjectStoreError`` with code ``ObjectStoreError/Code/invalidURL`` for a scheme no kind serves.
    public func store(scheme: String, bucket: String) throws -> any ObjectStore {
        guard let provider = providers[scheme] else {
            throw ObjectStoreError(
                code: .invalidURL, message: "'\(scheme)://' is not a supported storage scheme",
                hint: StorageLocation.supportedForms)
        }
        return provider.objectStore(bucket: bucket)
    }
}
