public import Foundation
public import FanoutStorage

/// One file given to a map step: what it is, and lazy access to its bytes.
///
/// Nothing is read until asked for. Prefer ``lines()`` or ``chunks()`` for large files: they stream with bounded
/// memory. ``withLocalPath(_:)`` gives tools that need a path one, downloading only when the file is remote.
public struct InputFile: Sendable {
    public let key: String
    public let size: Int64
    public let etag: String
    public let lastModified: Date
    /// The file's stable position in the run's plan.
    public let ordinal: Int
    /// The file's location as a URL: `s3://bucket/key` or `file:///path`.
    public var url: String { location.url(for: key) }
    let store: any ObjectStore
    /// Where the input is, for ``url``, which is made only when asked for.
    private let location: StorageLocation

    init(info: ObjectInfo, ordinal: Int, store: any ObjectStore, location: StorageLocation) {
        key = info.key
        size = info.size
        etag = info.etag
        lastModified = info.lastModified
        self.ordinal = ordinal
        self.location = location
        self.store = store
    }

    /// The last path component of the key.
    public var name: String { String(key.split(separator: "/").last ?? Substring(key)) }

    /// Whether the file is on the local file system, so ``withLocalPath(_:)`` costs nothing.
    public var isLocal: Bool { store is LocalObjectStore }

    /// All bytes, in memory.
    ///
    /// Every read is of the version that was listed: a file changed since then fails the read with
    /// ``ObjectStoreError/Code/preconditionFailed``, so no result is ever stored under an ETag whose content it
    /// does not describe.
    public func bytes() async throws -> Data { try await store.get(key: key, range: nil, ifMatch: etag) }

    /// The bytes in `range` (both ends included).
    public func bytes(in range: ClosedRange<Int64>) async throws -> Data {
        try await store.get(key: key, range: range, ifMatch: etag)
    }

    /// The file as text (UTF-8, invalid bytes replaced).
    public func text() async throws -> String { String(decoding: try await bytes(), as: UTF8.self) }

    /// The bytes as a stream of chunks.
    public func chunks() async throws -> ObjectByteStream { try await store.stream(key: key, range: nil, ifMatch: etag) }

    /// The lines of the file, streamed, without terminators.
    public func lines() async throws -> ObjectByteStream.Lines { try await chunks().lines }

    /// Calls `body` with an absolute local path to the file's bytes: the file itself for local stores (checked to
    /// be the listed version before and after `body`), a temporary copy (deleted afterwards; see
    /// ``DownloadFolders``) for remote ones.
    public func withLocalPath<T>(_ body: (String) async throws -> T) async throws -> T {
        if let local = store as? LocalObjectStore {
            try await local.checkVersion(key: key, etag: etag)
            let result = try await body(local.root.appendingPathComponent(key).path)
            try await local.checkVersion(key: key, etag: etag)
            return result
        }
        let folder = try DownloadFolders.make()
        defer { DownloadFolders.remove(folder) }
        let path = folder.appendingPathComponent(name.isEmpty ? "file" : name)
        _ = FileManager.default.createFile(atPath: path.path, contents: nil)
        let handle = try FileHandle(forWritingTo: path)
        do {
            for try await chunk in try await chunks() { try handle.write(contentsOf: chunk) }
            try handle.close()
        } catch {
            try? handle.close()
            throw error
        }
        return try await body(path.path)
    }
}
