public import Foundation

/// An ``ObjectStore`` over a folder of the local file system; keys are paths relative to the folder.
///
/// Writes are atomic: bytes go to a temporary file beside the target, which is then renamed over it (or, for
/// ``PutOptions/ifNoneMatch``, hard-linked to it, which fails if the target exists). Listings walk the tree
/// depth-first in key order, one page at a time, each page resuming the walk of the one before.
public struct LocalObjectStore: ObjectStore {
    /// The folder every key is relative to.
    public let root: URL
    /// ``root``'s path without a trailing `/`, to which keys are appended.
    private let rootPath: String

    public init(root: URL) {
        self.root = root.standardizedFileURL
        let path = self.root.path
        self.rootPath = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    public init(path: String) {
        self.init(root: URL(fileURLWithPath: path, isDirectory: true))
    }

    public var description: String { root.absoluteString }

    static let temporaryPrefix = ".fanout-tmp-"

    public func list(prefix: String, options: ListOptions) -> ObjectListing {
        let root = self.root
        let parking = LocalTreeWalker.Parking()
        return ObjectListing { continuation in
            var walker = parking.take(at: continuation) ?? LocalTreeWalker(
                root: root, prefix: prefix, startAfter: continuation ?? options.startAfter,
                delimiter: options.delimiter)
            let page = try walker.page(size: max(1, options.pageSize))
            if page.continuation != nil { parking.park(walker) }
            return page
        }
    }

    public func head(key: String) async throws -> ObjectInfo {
        guard let info = Self.info(key: key, path: try fileURL(for: key).path) else { throw notFound(key) }
        return info
    }

    /// With `ifMatch`, the file's size and modification time are checked before and after the read.
    public func get(key: String, range: ClosedRange<Int64>?, ifMatch: String?) async throws -> Data {
        guard let ifMatch else { return try await readBytes(key: key, range: range) }
        if range == nil { return try await readWhole(key: key, ifMatch: ifMatch) }
        try await checkVersion(key: key, etag: ifMatch)
        let data = try await readBytes(key: key, range: range)
        try await checkVersion(key: key, etag: ifMatch)
        return data
    }

    /// The whole file, through one descriptor whose version is checked before and after the read: one path
    /// look-up, however the checks go.
    private func readWhole(key: String, ifMatch etag: String) async throws -> Data {
        guard let descriptor = Self.openDescriptor(try filePath(for: key)) else { throw changed(key) }
        defer { close(descriptor) }
        var before = stat()
        guard fstat(descriptor, &before) == 0, before.st_mode & S_IFMT == S_IFREG,
            Self.info(key: key, status: before).etag == etag
        else { throw changed(key) }
        let size = Int(before.st_size)
        guard let data = try await BlockingFileIO.run(bytes: size, { Self.readBytes(descriptor, size: size) }) else {
            throw ObjectStoreError(
                code: .io, message: "reading \(rootPath)/\(key) failed: \(SystemErrorText.text(errno: errno))", key: key)
        }
        var after = stat()
        guard fstat(descriptor, &after) == 0, Self.info(key: key, status: after).etag == etag else { throw changed(key) }
        return data
    }

    /// Throws ``ObjectStoreError/Code/preconditionFailed`` unless the file is still the version `etag` names.
    public func checkVersion(key: String, etag: String) async throws {
        guard Self.info(key: key, path: try fileURL(for: key).path)?.etag == etag else { throw changed(key) }
    }

    private func changed(_ key: String) -> ObjectStoreError {
        ObjectStoreError(
            code: .preconditionFailed,
            message: "\(root.path)/\(key) changed after it was listed (its size or modification time differs)",
            key: key)
    }

    private func readBytes(key: String, range: ClosedRange<Int64>?) async throws -> Data {
        let url = try fileURL(for: key)
        if range == nil, let data = try await Self.readWhole(url.path) { return data }
        guard let handle = Self.openForReading(url.path) else { throw notFound(key) }
        defer { try? handle.close() }
        do {
            guard let range else { return try handle.readToEnd() ?? Data() }
            let size = try handle.seekToEnd()
            try Self.checkRange(range, size: Int64(size), key: key)
            try handle.seek(toOffset: UInt64(range.lowerBound))
            let count = Int(min(range.upperBound, Int64(size) - 1) - range.lowerBound + 1)
            return try await BlockingFileIO.run(bytes: count) { try handle.read(upToCount: count) ?? Data() }
        } catch let error as ObjectStoreError {
            throw error
        } catch {
            throw ObjectStoreError(code: .io, message: "cannot read \(url.path)", key: key, underlying: error)
        }
    }

    /// With `ifMatch`, the file's size and modification time are checked when the stream starts.
    public func stream(key: String, range: ClosedRange<Int64>?, ifMatch: String?) async throws -> ObjectByteStream {
        let info = try await head(key: key)
        if let ifMatch, info.etag != ifMatch { throw changed(key) }
        if let range { try Self.checkRange(range, size: info.size, key: key) }
        let url = try fileURL(for: key)
        let start = range?.lowerBound ?? 0
        let end = min(range?.upperBound ?? (info.size - 1), info.size - 1)
        return ObjectByteStream(length: max(0, end - start + 1), LocalFileChunks(url: url, start: start, end: end))
    }

    @discardableResult
    public func put(key: String, data: Data, options: PutOptions) async throws -> PutResult {
        try await write(key: key, options: options) { temporary in
            try await BlockingFileIO.run(bytes: data.count) { try data.write(to: temporary) }
        }
    }

    @discardableResult
    public func put(key: String, file: URL, options: PutOptions) async throws -> PutResult {
        var info = stat()
        let size = stat(file.path, &info) == 0 ? Int(info.st_size) : Int.max
        return try await write(key: key, options: options) { temporary in
            try await BlockingFileIO.run(bytes: size) { try FileManager.default.copyItem(at: file, to: temporary) }
        }
    }

    /// Deletes the file, the lock file of its conditional writes, and the folders the deletion leaves empty (as
    /// on S3, a prefix exists only while an object is under it).
    public func delete(key: String) async throws {
        let url = try fileURL(for: key)
        do {
            try FileManager.default.removeItem(at: url)
        } catch CocoaError.fileNoSuchFile {
            return
        } catch {
            if !FileManager.default.fileExists(atPath: url.path) { return }
            throw ObjectStoreError(code: .io, message: "cannot delete \(url.path)", key: key, underlying: error)
        }
        let folder = url.deletingLastPathComponent()
        unlink(folder.appendingPathComponent(Self.temporaryPrefix + "lock-" + url.lastPathComponent).path)
        removeEmptyFolders(from: folder)
    }

    /// Removes `folder` and then each parent below the root, while they are empty (`rmdir` leaves a folder that
    /// holds anything, so no object is ever removed this way).
    private func removeEmptyFolders(from folder: URL) {
        let rootPath = root.standardizedFileURL.path
        var current = folder.standardizedFileURL
        while current.path.count > rootPath.count, current.path.hasPrefix(rootPath + "/"),
            LocalFileName.withPath(current.path, { rmdir($0) }) == 0
        {
            current = current.deletingLastPathComponent()
        }
    }

    public func delete(keys: [String]) async throws {
        for key in keys { try await delete(key: key) }
    }

    public func presignedURL(key: String, method: PresignMethod, expires: Duration) async throws -> URL {
        try fileURL(for: key)
    }

    // MARK: Helpers

    /// Reads a whole regular file with one `open`, `fstat` and as few `read`s as its size needs: many small
    /// files are the common case of a fan-out, so only large files are read off the cooperative threads.
    /// `nil` when it cannot (missing, not a regular file).
    static func readWhole(_ path: String) async throws -> Data? {
        guard let descriptor = openDescriptor(path) else { return nil }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        let size = Int(info.st_size)
        return try await BlockingFileIO.run(bytes: size) { readBytes(descriptor, size: size) }
    }

    /// A descriptor open for reading on `path` (a key's raw bytes, see ``LocalFileName``), or `nil` with `errno` set.
    static func openDescriptor(_ path: String) -> Int32? {
        let descriptor = LocalFileName.withPath(path) { open($0, O_RDONLY | O_CLOEXEC) }
        return descriptor >= 0 ? descriptor : nil
    }

    /// A handle open for reading on `path`, closed when released; `nil` with `errno` set.
    static func openForReading(_ path: String) -> FileHandle? {
        openDescriptor(path).map { FileHandle(fileDescriptor: $0, closeOnDealloc: true) }
    }

    /// Up to `size` bytes from an open file; fewer if it shrank while being read, `nil` if reading failed.
    private static func readBytes(_ descriptor: Int32, size: Int) -> Data? {
        var data = Data(count: size)
        var filled = 0
        let complete = data.withUnsafeMutableBytes { buffer -> Bool in
            while filled < buffer.count {
                let count = read(descriptor, buffer.baseAddress! + filled, buffer.count - filled)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { return count == 0 }
                filled += count
            }
            return true
        }
        guard complete else { return nil }
        // A file that shrank while being read: keep what was there.
        if filled < data.count { data.removeSubrange(filled...) }
        return data
    }

    func fileURL(for key: String) throws -> URL {
        URL(fileURLWithPath: try filePath(for: key), isDirectory: false)
    }

    /// Whether `key` is a path relative to the root with no empty, `.` or `..` segment (checked byte by byte:
    /// this runs for every file a run reads).
    static func isRelativePath(_ key: String) -> Bool {
        var segmentLength = 0
        var segmentDots = 0
        for byte in key.utf8 {
            if byte == UInt8(ascii: "/") {
                guard segmentLength > 0, segmentDots != segmentLength || segmentLength > 2 else { return false }
                segmentLength = 0
                segmentDots = 0
            } else {
                segmentLength += 1
                if byte == UInt8(ascii: ".") { segmentDots += 1 }
            }
        }
        return segmentLength > 0 && (segmentDots != segmentLength || segmentLength > 2)
    }

    /// The file's path: ``root``'s with the key appended, once the key is known to stay inside it.
    func filePath(for key: String) throws -> String {
        guard Self.isRelativePath(key) else {
            throw ObjectStoreError(
                code: .invalidArgument, message: "'\(key)' is not a valid key for a local store",
                hint: "Keys are relative paths without empty, '.' or '..' segments.", key: key)
        }
        return rootPath == "/" ? "/" + key : rootPath + "/" + key
    }

    private func write(
        key: String, options: PutOptions, body: (URL) async throws -> Void
    ) async throws -> PutResult {
        let target = try fileURL(for: key)
        let folder = target.deletingLastPathComponent()
        let temporary = folder.appendingPathComponent(Self.temporaryPrefix + UUID().uuidString)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try await body(temporary)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw ObjectStoreError(code: .io, message: "cannot write \(target.path)", key: key, underlying: error)
        }
        defer { try? FileManager.default.removeItem(at: temporary) }
        if let ifMatch = options.ifMatch {
            try Self.replace(target, with: temporary, ifMatch: ifMatch, key: key)
        } else if options.ifNoneMatch {
            if link(temporary.path, target.path) != 0 {
                let code = errno
                if code == EEXIST {
                    throw ObjectStoreError(
                        code: .preconditionFailed, message: "the key already exists", key: key)
                }
                throw ObjectStoreError(
                    code: .io, message: "cannot write \(target.path): \(String(cString: strerror(code)))", key: key)
            }
        } else if rename(temporary.path, target.path) != 0 {
            let code = errno
            throw ObjectStoreError(
                code: .io, message: "cannot write \(target.path): \(String(cString: strerror(code)))", key: key)
        }
        return PutResult(etag: try await head(key: key).etag)
    }

    /// A range must start inside the object, as S3 requires (it answers 416 InvalidRange otherwise).
    static func checkRange(_ range: ClosedRange<Int64>, size: Int64, key: String) throws {
        guard range.lowerBound < size else {
            throw ObjectStoreError(
                code: .invalidArgument,
                message: "the range \(range.lowerBound)-\(range.upperBound) starts past the end of the object "
                    + "(\(size) bytes)",
                key: key)
        }
    }

    private func notFound(_ key: String) -> ObjectStoreError {
        ObjectStoreError(code: .notFound, message: "no such file: \(root.path)/\(key)", key: key)
    }

    /// The file's metadata from `stat` (following links), or `nil` when it is not there or not a regular file.
    /// Renames `temporary` over `target` only while `target` is the version `ifMatch` names. Conditional writers
    /// take an exclusive `flock` on a lock file beside the target, so a check and its rename are one step for them.
    private static func replace(_ target: URL, with temporary: URL, ifMatch: String, key: String) throws {
        let lockPath = target.deletingLastPathComponent()
            .appendingPathComponent(temporaryPrefix + "lock-" + target.lastPathComponent).path
        let lock = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard lock >= 0 else {
            throw ObjectStoreError(
                code: .io, message: "cannot lock \(target.path): \(String(cString: strerror(errno)))", key: key)
        }
        defer { close(lock) }
        while flock(lock, LOCK_EX) != 0 && errno == EINTR {}
        guard let current = info(key: key, path: target.path) else {
            throw ObjectStoreError(code: .notFound, message: "no such file: \(target.path)", key: key)
        }
        guard current.etag == ifMatch else {
            throw ObjectStoreError(code: .preconditionFailed, message: "the object has changed", key: key)
        }
        guard rename(temporary.path, target.path) == 0 else {
            throw ObjectStoreError(
                code: .io, message: "cannot write \(target.path): \(String(cString: strerror(errno)))", key: key)
        }
    }

    static func info(key: String, path: String) -> ObjectInfo? {
        var status = stat()
        guard LocalFileName.withPath(path, { stat($0, &status) }) == 0, status.st_mode & S_IFMT == S_IFREG else {
            return nil
        }
        return info(key: key, status: status)
    }

    /// The object at `name` in the open folder `folder` (following a link, as `stat` does); `nil` unless it is a
    /// regular file.
    static func info(key: String, name: String, in folder: Int32) -> ObjectInfo? {
        var status = stat()
        guard LocalFileName.withPath(name, { fstatat(folder, $0, &status, 0) }) == 0, status.st_mode & S_IFMT == S_IFREG
        else { return nil }
        return info(key: key, status: status)
    }

    static func info(key: String, status: stat) -> ObjectInfo {
        let modified = Date(
            timeIntervalSince1970: Double(status.st_mtim.tv_sec) + Double(status.st_mtim.tv_nsec) / 1e9)
        return info(key: key, size: Int64(status.st_size), modified: modified)
    }

    static func info(key: String, size: Int64, modified: Date?) -> ObjectInfo {
        let date = modified ?? Date(timeIntervalSince1970: 0)
        let nanoseconds = Int64((date.timeIntervalSince1970 * 1e9).rounded())
        return ObjectInfo(
            key: key, size: size, etag: String(size, radix: 16) + "-" + String(nanoseconds, radix: 16),
            lastModified: date)
    }
}

/// Reads a file range in chunks, on demand.
struct LocalFileChunks: AsyncSequence, Sendable {
    typealias Element = Data
    let url: URL
    let start: Int64
    let end: Int64

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(url: url, position: start, end: end) }

    struct AsyncIterator: AsyncIteratorProtocol {
        let url: URL
        var position: Int64
        let end: Int64
        var handle: FileHandle?

        mutating func next() async throws -> Data? {
            guard position <= end else {
                try? handle?.close()
                handle = nil
                return nil
            }
            if handle == nil {
                guard let opened = LocalObjectStore.openForReading(url.path) else {
                    throw ObjectStoreError(
                        code: .notFound, message: "cannot open \(url.path): \(SystemErrorText.text(errno: errno))")
                }
                handle = opened
                try handle?.seek(toOffset: UInt64(position))
            }
            let count = Int(Swift.min(256 * 1024, end - position + 1))
            guard let data = try handle?.read(upToCount: count), !data.isEmpty else {
                position = end + 1
                return nil
            }
            position += Int64(data.count)
            return data
        }
    }
}
