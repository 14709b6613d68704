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
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        } catch {
            if keyPrefix.isEmpty && !FileManager.default.fileExists(atPath: folder.path) {
                return true
            }
            throw ObjectStoreError(code: .io, message: "cannot list \(folder.path)", underlying: error)
        }
        var entries: [(key: String, url: URL, isFolder: Bool)] = []
        for name in names where !name.hasPrefix(LocalObjectStore.temporaryPrefix) {
            let url = folder.appendingPathComponent(name)
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else { continue }
            let key = keyPrefix + name + (isFolder.boolValue ? "/" : "")
            // Keep only what can still match the prefix.
            guard key.hasPrefix(prefix) || (isFolder.boolValue && prefix.hasPrefix(key)) else { continue }
            entries.append((key, url, isFolder.boolValue))
        }
        entries.sort { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }

        for entry in entries {
            if let startAfter, entry.key.utf8.lexicographicallyPrecedes(startAfter.utf8) || entry.key == startAfter {
                // A folder before the resume point may still hold keys after it.
                guard entry.isFolder, startAfter.hasPrefix(entry.key) else { continue }
            }
            if let delimiter, let rolled = rollUp(entry.key, delimiter: delimiter) {
                if let startAfter, !startAfter.utf8.lexicographicallyPrecedes(rolled.utf8) { continue }
                if !emit(.commonPrefix(rolled)) { return false }
                continue
            }
            if entry.isFolder {
                if !(try walk(folder: entry.url, keyPrefix: entry.key, emit: emit)) { return false }
            } else {
                let values = try? entry.url.resourceValues(forKeys: [.fileSizeKey, .contentModificationDateKey])
                let info = LocalObjectStore.info(
                    key: entry.key, size: Int64(values?.fileSize ?? 0), modified: values?.contentModificationDate)
                if !emit(.object(info)) { return false }
            }
        }
        return true
    }

    /// The common prefix a key rolls up to with a delimiter, if the delimiter occurs after the listing prefix.
    private func rollUp(_ key: String, delimiter: String) -> String? {
        guard key.hasPrefix(prefix) else { return nil }
        let rest = key.dropFirst(prefix.count)
        guard let range = rest.range(of: delimiter) else { return nil }
        return prefix + rest[..<range.upperBound]
    }
}
