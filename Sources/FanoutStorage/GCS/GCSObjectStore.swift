public import Foundation

/// An ``ObjectStore`` over one Cloud Storage bucket. ETags are object generations, so conditional reads and writes
/// are generation preconditions.
public struct GCSObjectStore: ObjectStore {
    public let client: GCSClient
    public let bucket: String

    public init(client: GCSClient, bucket: String) {
        self.client = client
        self.bucket = bucket
    }

    public var description: String { "gs://\(bucket)" }

    public func list(prefix: String, options: ListOptions) -> ObjectListing {
        client.listObjects(bucket: bucket, prefix: prefix, options: options)
    }

    public func head(key: String) async throws -> ObjectInfo {
        try await client.objectInfo(bucket: bucket, key: key)
    }

    public func get(key: String, range: ClosedRange<Int64>?, ifMatch: String?) async throws -> Data {
        try await client.getObject(bucket: bucket, key: key, range: range, ifGeneration: ifMatch)
    }

    public func stream(key: String, range: ClosedRange<Int64>?, ifMatch: String?) async throws -> ObjectByteStream {
        try await client.streamObject(bucket: bucket, key: key, range: range, ifGeneration: ifMatch)
    }

    @discardableResult
    public func put(key: String, data: Data, options: PutOptions) async throws -> PutResult {
        try await client.putObject(bucket: bucket, key: key, data: data, options: options)
    }

    @discardableResult
    public func put(key: String, file: URL, options: PutOptions) async throws -> PutResult {
        try await client.putObject(bucket: bucket, key: key, file: file, options: options)
    }

    public func delete(key: String) async throws {
        try await client.deleteObject(bucket: bucket, key: key)
    }

    public func delete(keys: [String]) async throws {
        try await client.deleteObjects(bucket: bucket, keys: keys)
    }

    public func presignedURL(key: String, method: PresignMethod, expires: Duration) async throws -> URL {
        try await client.signedURL(bucket: bucket, key: key, method: method, expires: expires)
    }
}
