import Foundation

/// Walks a folder depth-first in S3 key order (bytewise, with `/` after folder names) and cuts pages.
///
/// Each page starts a fresh walk that skips every subtree wholly at or before `startAfter`, so no state lives
/// between pages and a walk reads only the folders on the path to where it resumes.
struct LocalTreeWalker {
    let root: URL
    let prefix: String
    var startAfter: String?
    let delimiter: String?

    mutating func page(size: Int) throws -> ObjectListing.Page {
        var objects: [ObjectInfo] = []
        var prefixes: [String] = []
        var last: String?
        try walk(folder: root, keyPrefix: "") { item in
            switch item {
            case .object(let info): objects.append(info); last = info.key
            case .commonPrefix(let value): prefixes.append(value); last = value
            }
            return objects.count + prefixes.count < size
        }
        let full = objects.count + prefixes.count >= size
        return ObjectListing.Page(objects: objects, commonPrefixes: prefixes, continuation: full ? last : nil)
    }

    private enum Item {
        case object(ObjectInfo)
        case commonPrefix(String)
    }

    /// Calls `emit` for each item in order; returns false once `emit` asked to stop.
    @discardableResult
    private func walk(folder: URL, keyPrefix: String, emit: (Item) -> Bool) throws -> Bool {
        let path = folder.path
        guard let entries = Self.readFolder(path) else {
            if keyPrefix.isEmpty && !FileManager.default.fileExists(atPath: path) {
                return true
            }
            throw ObjectStoreError(
                code: .io, message: "cannot list \(path): \(String(cString: strerror(errno)))")
        }
        var kept: [(key: String, name: String, isFolder: Bool)] = []
        kept.reserveCapacity(entries.count)
        for (name, isFolder) in entries where !name.hasPrefix(LocalObjectStore.temporaryPrefix) {
            let key = keyPrefix + name + (isFolder ? "/" : "")
            // Keep only what can still match the prefix.
            guard key.hasPrefix(prefix) || (isFolder && prefix.hasPrefix(key)) else { continue }
            kept.append((key, name, isFolder))
        }
        kept.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }

        for entry in kept {
            if let startAfter, entry.key.utf8.lexicographicallyPrecedes(startAfter.utf8) || entry.key == startAfter {
                // A folder before the resume point may still hold keys after it.
                guard entry.isFolder, startAfter.hasPrefix(entry.key) else { continue }
            }
            if let delimiter, let rolled = rollUp(entry.key, delimiter: delimiter) {
                if let startAfter, !startAfter.utf8.lexicographicallyPrecedes(rolled.utf8) { continue }
                if !emit(.commonPrefix(rolled)) { return false }
                continue
            }
            let entryPath = path + "/" + entry.name
            if entry.isFolder {
                let child = URL(fileURLWithPath: entryPath, isDirectory: true)
                if !(try walk(folder: child, keyPrefix: entry.key, emit: emit)) { return false }
            } else {
                var info = stat()
                guard stat(entryPath, &info) == 0 else { continue }
                let modified = Date(
                    timeIntervalSince1970: Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9)
                if !emit(.object(LocalObjectStore.info(key: entry.key, size: Int64(info.st_size), modified: modified))) {
                    return false
                }
            }
        }
        return true
    }

    /// The names in a folder and whether each is a folder (following symbolic links), or `nil` if it cannot be
    /// read. Uses `readdir`'s entry types, so only links and unknown types cost a `stat`.
    private static func readFolder(_ path: String) -> [(name: String, isFolder: Bool)]? {
        guard let directory = opendir(path) else { return nil }
        defer { closedir(directory) }
        var entries: [(name: String, isFolder: Bool)] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            let type = entry.pointee.d_type
            let regularFile: UInt8 = 8
            let folder: UInt8 = 4
            if type == regularFile {
                entries.append((name, false))
            } else if type == folder {
                entries.append((name, true))
            } else {
                // Links and file systems that do not report types: ask stat, which follows links.
                var info = stat()
                guard stat(path + "/" + name, &info) == 0 else { continue }
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
