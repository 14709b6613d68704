public import Foundation

/// A flat namespace of objects addressed by key: an S3 bucket, or a folder on the local file system.
///
/// The engine and the CLI speak only this protocol, so every code path runs the same against S3 and local files.
/// Keys use `/` as separator on every store.
public protocol ObjectStore: Sendable {
    /// Where this store is, for messages: `s3://bucket` or `file:///path`.
    var description: String { get }

    /// Streams the objects whose key starts with `prefix`, in key order, a page at a time.
    func list(prefix: String, options: ListOptions) -> ObjectListing

    /// Metadata of one object.
    /// - Throws: ``ObjectStoreError`` with code ``ObjectStoreError/Code/notFound`` when it does not exist.
    func head(key: String) async throws -> ObjectInfo

    /// The object's bytes, whole or in a byte range (both ends included).
    ///
    /// With `ifMatch` (an ``ObjectInfo/etag`` from a listing), the read succeeds only while the object is still
    /// that version; otherwise it throws ``ObjectStoreError`` with code ``ObjectStoreError/Code/preconditionFailed``.
    func get(key: String, range: ClosedRange<Int64>?, ifMatch: String?) async throws -> Data

    /// The object's bytes as they arrive, with bounded buffering; `ifMatch` as for ``get(key:range:ifMatch:)``.
    func stream(key: String, range: ClosedRange<Int64>?, ifMatch: String?) async throws -> ObjectByteStream

    /// Writes an object whole. With ``PutOptions/ifNoneMatch`` the write fails if the key exists.
    @discardableResult
    func put(key: String, data: Data, options: PutOptions) async throws -> PutResult

    /// Writes an object from a local file, in parts when it is large.
    @discardableResult
    func put(key: String, file: URL, options: PutOptions) async throws -> PutResult

    /// Deletes one object; deleting a missing key succeeds.
    func delete(key: String) async throws

    /// Deletes many objects, in as few requests as the store allows.
    func delete(keys: [String]) async throws

    /// A URL that grants `method` on the object without credentials until `expires` has passed.
    /// Local stores return a `file://` URL.
    func presignedURL(key: String, method: PresignMethod, expires: Duration) async throws -> URL
}

extension ObjectStore {
    public func list(prefix: String) -> ObjectListing { list(prefix: prefix, options: ListOptions()) }

    public func get(key: String) async throws -> Data { try await get(key: key, range: nil, ifMatch: nil) }

    public func get(key: String, range: ClosedRange<Int64>?) async throws -> Data {
        try await get(key: key, range: range, ifMatch: nil)
    }

    public func stream(key: String, range: ClosedRange<Int64>?) async throws -> ObjectByteStream {
        try await stream(key: key, range: range, ifMatch: nil)
    }

    @discardableResult
    public func put(key: String, data: Data) async throws -> PutResult {
        try await put(key: key, data: data, options: PutOptions())
    }
}

/// What one object is.
public struct ObjectInfo: Sendable, Hashable, Codable {
    public var key: String
    public var size: Int64
    /// An opaque version tag: S3's ETag without quotes, or a local file's size and modification time.
    public var etag: String
    public var lastModified: Date

    public init(key: String, size: Int64, etag: String, lastModified: Date) {
        self.key = key
        self.size = size
        self.etag = etag
        self.lastModified = lastModified
    }
}

/// How to list.
public struct ListOptions: Sendable, Hashable {
    /// List only keys after this one. Default `nil`.
    public var startAfter: String?
    /// Keys per request; stores may return fewer. Default 1000 (S3's maximum).
    public var pageSize: Int
    /// When set (usually `/`), keys are grouped at the first delimiter after the prefix into
    /// ``ObjectListing/Page/commonPrefixes`` instead of being listed. Default `nil`: everything, recursively.
    public var delimiter: String?

    public init(startAfter: String? = nil, pageSize: Int = 1000, delimiter: String? = nil) {
        self.startAfter = startAfter
        self.pageSize = pageSize
        self.delimiter = delimiter
    }
}

/// How to write.
public struct PutOptions: Sendable, Hashable {
    /// The `Content-Type` to store. Default `application/octet-stream`.
    public var contentType: String
    /// Fail with ``ObjectStoreError/Code/preconditionFailed`` when the key already exists. Default `false`.
    public var ifNoneMatch: Bool
    /// Replace the object only while it is this version (an ETag from ``PutResult`` or ``ObjectInfo``); fail with
    /// ``ObjectStoreError/Code/preconditionFailed`` otherwise, and with ``ObjectStoreError/Code/notFound`` when
    /// it is gone. A compare-and-swap, for records several processes update. Default `nil`.
    public var ifMatch: String?

    public init(contentType: String = "application/octet-stream", ifNoneMatch: Bool = false, ifMatch: String? = nil) {
        self.contentType = contentType
        self.ifNoneMatch = ifNoneMatch
        self.ifMatch = ifMatch
    }
}

/// What a write produced.
public struct PutResult: Sendable, Hashable {
    public var etag: String
    public init(etag: String) { self.etag = etag }
}

/// The operation a presigned URL grants.
public enum PresignMethod: String, Sendable, CaseIterable {
    case get = "GET"
    case put = "PUT"
}
