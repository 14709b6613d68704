import Foundation
import Synchronization

/// Walks a folder depth-first in S3 key order (bytewise, with `/` after folder names) and cuts pages.
///
/// The walker keeps the sorted entries of the folders on its current path, so each page continues where the last
/// one ended and every folder is read and sorted once per listing. A walker that starts after a key reads only the
/// folders on the path to it; ``Parking`` hands a walker from one page of a listing to the next.
struct LocalTreeWalker: Sendable {
    let root: URL
    let prefix: String
    let delimiter: String?
    /// Where the listing starts, then the last key or common prefix returned: everything returned comes after it.
    private(set) var position: String?
    /// The folders on the path to the next entry, outermost first.
    private var folders: [Folder] = []
    private var started = false

    init(root: URL, prefix: String, startAfter: String?, delimiter: String?) {
        self.root = root
        self.prefix = prefix
        self.position = startAfter
        self.delimiter = delimiter
    }

    /// A folder being walked: its entries that can match the prefix, in key order, and the next one to visit.
    private struct Folder: Sendable {
        let path: String
        let keyPrefix: String
        /// The open folder, so each file's `stat` resolves only its own name.
        let handle: FolderHandle
        let entries: [Entry]
        var next = 0
    }

    /// A folder's descriptor, closed when the last walker holding it is gone (a parked walker keeps its folders).
    private final class FolderHandle: Sendable {
        let descriptor: Int32

        init(_ descriptor: Int32) { self.descriptor = descriptor }

        deinit { close(descriptor) }
    }

    /// An entry of a folder: its key relative to the folder (a folder's ends with `/`).
    private struct Entry: Sendable {
        let relativeKey: String
        let isFolder: Bool

        var name: Substring { isFolder ? relativeKey.dropLast() : relativeKey[...] }
    }

    private enum Item {
        case object(ObjectInfo)
        case commonPrefix(String)
    }

    mutating func page(size: Int) throws -> ObjectListing.Page {
        if !started {
            started = true
            try enter(path: root.path, keyPrefix: "")
        }
        var objects: [ObjectInfo] = []
        var prefixes: [String] = []
        while objects.count + prefixes.count < size, let item = try nextItem() {
            switch item {
            case .object(let info): objects.append(info)
            case .commonPrefix(let value): prefixes.append(value)
            }
        }
        let full = objects.count + prefixes.count >= size
        return ObjectListing.Page(objects: objects, commonPrefixes: prefixes, continuation: full ? position : nil)
    }

    /// The next object or common prefix after ``position``, or `nil` at the end of the walk.
    private mutating func nextItem() throws -> Item? {
        while let depth = folders.indices.last {
            guard folders[depth].next < folders[depth].entries.count else {
                folders.removeLast()
                continue
            }
            let entry = folders[depth].entries[folders[depth].next]
            folders[depth].next += 1
            let key = folders[depth].keyPrefix + entry.relativeKey
            if let position, !position.precedesBytewise(key) {
                // A folder at or before the position may still hold keys after it.
                guard entry.isFolder, position.hasPrefix(key) else { continue }
            }
            if let delimiter, let rolled = rollUp(key, delimiter: delimiter) {
                // Keys rolled up to one prefix are adjacent in key order: the prefix is returned once.
                if let position, !position.precedesBytewise(rolled) { continue }
                position = rolled
                return .commonPrefix(rolled)
            }
            if entry.isFolder {
                try enter(path: folders[depth].path + "/" + entry.name, keyPrefix: key)
                continue
            }
            guard let info = LocalObjectStore.info(key: key, name: String(entry.name), in: folders[depth].handle.descriptor)
            else { continue }
            position = key
            return .object(info)
        }
        return nil
    }

    /// Reads a folder and pushes its entries that can still match the prefix, sorted by key.
    private mutating func enter(path: String, keyPrefix: String) throws {
        let descriptor = LocalFileName.withPath(path) { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard descriptor >= 0, let names = Self.readFolder(descriptor) else {
            let reason = String(cString: strerror(errno))
            if descriptor >= 0 { close(descriptor) }
            if keyPrefix.isEmpty && LocalFileName.withPath(path, { access($0, F_OK) }) != 0 { return }
            throw ObjectStoreError(code: .io, message: "cannot list \(path): \(reason)")
        }
        let handle = FolderHandle(descriptor)
        var entries: [Entry] = []
        entries.reserveCapacity(names.count)
        for (name, isFolder) in names where !name.hasPrefix(LocalObjectStore.temporaryPrefix) {
            let relativeKey = isFolder ? name + "/" : name
            let key = keyPrefix + relativeKey
            guard key.hasPrefix(prefix) || (isFolder && prefix.hasPrefix(key)) else { continue }
            entries.append(Entry(relativeKey: relativeKey, isFolder: isFolder))
        }
        entries.sort { $0.relativeKey.precedesBytewise($1.relativeKey) }
        folders.append(Folder(path: path, keyPrefix: keyPrefix, handle: handle, entries: entries))
    }

    /// The names in a folder and whether each is a folder (following symbolic links), or `nil` if it cannot be
    /// read. Uses `readdir`'s entry types, so only links and unknown types cost a `stat`.
    private static func readFolder(_ folder: Int32) -> [(name: String, isFolder: Bool)]? {
        // Names that are not valid UTF-8 become keys by ``LocalFileName``, and paths back into bytes by it.
        let copy = dup(folder)
        guard copy >= 0 else { return nil }
        guard let directory = fdopendir(copy) else {
            close(copy)
            return nil
        }
        defer { closedir(directory) }
        var entries: [(name: String, isFolder: Bool)] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { LocalFileName.key(fromCString: $0) }
            }
            if name == "." || name == ".." { continue }
            let type = entry.pointee.d_type
            let (regularFileType, folderType): (UInt8, UInt8) = (8, 4)
            if type == regularFileType {
                entries.append((name, false))
            } else if type == folderType {
                entries.append((name, true))
            } else {
                // Links and file systems that do not report types: ask stat, which follows links.
                var info = stat()
                guard LocalFileName.withPath(name, { fstatat(folder, $0, &info, 0) }) == 0 else { continue }
                let kind = info.st_mode & S_IFMT
                if kind == S_IFDIR {
                    entries.append((name, true))
                } else if kind == S_IFREG {
                    entries.append((name, false))
                }
            }
        }
        return entries
    }

    /// The common prefix a key rolls up to with a delimiter, if the delimiter occurs after the listing prefix.
    private func rollUp(_ key: String, delimiter: String) -> String? {
        guard key.hasPrefix(prefix) else { return nil }
        let rest = key.dropFirst(prefix.count)
        guard let range = rest.range(of: delimiter) else { return nil }
        return prefix + rest[..<range.upperBound]
    }
}

extension LocalTreeWalker {
    /// Holds a listing's walker between its pages, so the next page resumes the walk instead of starting over.
    ///
    /// A page asked for at any other point (a new iteration, or a continuation from elsewhere) starts a new walker.
    final class Parking: Sendable {
        private let parked = Mutex<LocalTreeWalker?>(nil)

        /// The parked walker if it stopped exactly at `continuation`; it is no longer parked.
        func take(at continuation: String?) -> LocalTreeWalker? {
            guard let continuation else { return nil }
            return parked.withLock { parked in
                guard let walker = parked, walker.position == continuation else { return nil }
                parked = nil
                return walker
            }
        }

        func park(_ walker: LocalTreeWalker) {
            parked.withLock { $0 = walker }
        }
    }
}
