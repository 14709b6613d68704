import CSpawn
import Foundation

/// The files of an input's listing, in key order (a file's position is its ordinal), kept in an unnamed temporary
/// file rather than in memory: only their sizes stay in memory, so a run over a million files holds 8 MB of them
/// while it plans, not a million keys and ETags. Read back in order with ``forEach(_:)``.
final class ListedFiles {
    /// Each file's size in bytes, by ordinal.
    private(set) var sizes: [Int64] = []
    private let handle: FileHandle
    private var pending: [UInt8] = []
    private static let flushBytes = 1 << 20

    var count: Int { sizes.count }
    var byteCount: Int64 { sizes.reduce(0, +) }

    init() throws {
        let descriptor = cspawn_open_anonymous(FileManager.default.temporaryDirectory.path)
        guard descriptor >= 0 else {
            throw RunError(
                code: .invalidInput,
                message: "cannot make a temporary file for the listing in \(FileManager.default.temporaryDirectory.path) "
                    + "(errno \(errno)): set TMPDIR to a writable folder")
        }
        handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    }

    /// Adds the next file of the listing; its ordinal is its position.
    func append(key: String, size: Int64, etag: String, modified: Double) throws {
        Self.appendField(key, to: &pending)
        Self.appendField(etag, to: &pending)
        withUnsafeBytes(of: size.littleEndian) { pending.append(contentsOf: $0) }
        withUnsafeBytes(of: modified.bitPattern.littleEndian) { pending.append(contentsOf: $0) }
        sizes.append(size)
        if pending.count >= Self.flushBytes { try flush() }
    }

    /// Calls `body` with every file in ordinal order.
    func forEach(_ body: (PlannedFile) throws -> Void) throws {
        try forEach(where: { _ in true }, body)
    }

    /// Calls `body` with the files whose ordinal `wanted` accepts, in ordinal order; the others are skipped without
    /// being decoded.
    func forEach(where wanted: (Int) -> Bool, _ body: (PlannedFile) throws -> Void) throws {
        try flush()
        try handle.seek(toOffset: 0)
        var buffer: [UInt8] = []
        var start = 0
        var ordinal = 0
        while ordinal < sizes.count {
            let wantedHere = wanted(ordinal)
            if let file = Self.decode(buffer, from: &start, ordinal: ordinal, wanted: wantedHere) {
                if wantedHere { try body(file) }
                ordinal += 1
                continue
            }
            // Not a whole record left: keep the tail, read more.
            guard let more = try handle.read(upToCount: Self.flushBytes), !more.isEmpty else {
                throw RunError(code: .invalidInput, message: "the listing's temporary file ended early")
            }
            buffer.removeSubrange(..<start)
            buffer.append(contentsOf: more)
            start = 0
        }
        try handle.seekToEnd()
    }

    /// Every file, in memory: for plans small enough to show whole (``Fanout/plan(_:)``).
    func all() throws -> [PlannedFile] {
        var files: [PlannedFile] = []
        files.reserveCapacity(count)
        try forEach { files.append($0) }
        return files
    }

    /// A new temporary file, open for writing, and its path: the caller removes it.
    static func temporaryFile() throws -> (FileHandle, String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fanout-\(UUID().uuidString)").path
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else {
            throw RunError(
                code: .invalidInput,
                message: "cannot make a temporary file in \(FileManager.default.temporaryDirectory.path): "
                    + "set TMPDIR to a writable folder")
        }
        return (handle, path)
    }

    private func flush() throws {
        guard !pending.isEmpty else { return }
        try handle.write(contentsOf: pending)
        pending.removeAll(keepingCapacity: true)
    }

    private static func appendField(_ text: String, to data: inout [UInt8]) {
        withUnsafeBytes(of: UInt32(text.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: text.utf8)
    }

    /// The record at `start`, advancing past it; `nil` when `buffer` does not hold all of it. Unless `wanted`, its
    /// key and ETag are skipped, not decoded (the file returned has them empty).
    private static func decode(_ buffer: [UInt8], from start: inout Int, ordinal: Int, wanted: Bool) -> PlannedFile? {
        buffer.withUnsafeBytes { bytes in
            var cursor = start
            func integer<T: FixedWidthInteger>(_: T.Type) -> T? {
                let width = MemoryLayout<T>.size
                guard bytes.count - cursor >= width else { return nil }
                defer { cursor += width }
                return T(littleEndian: bytes.loadUnaligned(fromByteOffset: cursor, as: T.self))
            }
            func text() -> String? {
                guard let length = integer(UInt32.self).map(Int.init), bytes.count - cursor >= length else { return nil }
                defer { cursor += length }
                return wanted ? String(decoding: UnsafeRawBufferPointer(rebasing: bytes[cursor..<(cursor + length)]), as: UTF8.self) : ""
            }
            guard let key = text(), let etag = text(), let size = integer(Int64.self), let bits = integer(UInt64.self)
            else { return nil }
            start = cursor
            return PlannedFile(ordinal: ordinal, key: key, size: size, etag: etag, modified: Double(bitPattern: bits))
        }
    }
}
