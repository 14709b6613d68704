public import Foundation

/// A place to read or write objects, parsed from what a user types: `s3://bucket/prefix`, `gs://bucket/prefix` (a
/// scheme of ``ObjectStores/kinds``), `file:///path`, or a plain path.
///
/// A path to an existing folder (or one ending in `/`) is a local store rooted there with an empty prefix; any
/// other path is a store rooted at its parent folder with the last component as key prefix, so `data/part-`
/// selects `data/part-0001`, `data/part-0002`, and so on.
public struct StorageLocation: Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// A bucket of a remote store, named by the store's URL scheme (`s3`, `gs`).
        case bucket(scheme: String, name: String)
        case local(root: URL)
    }

    public let kind: Kind
    /// Keys under the location start with this.
    public let prefix: String

    public init(kind: Kind, prefix: String) {
        self.kind = kind
        self.prefix = prefix
    }

    /// Parses a location.
    /// - Throws: ``ObjectStoreError`` with code ``ObjectStoreError/Code/invalidURL`` for an unusable URL.
    public static func parse(_ text: String) throws -> StorageLocation {
        for scheme in ObjectStores.schemes where text.hasPrefix(scheme + "://") {
            let rest = text.dropFirst(scheme.count + 3)
            let bucket = String(rest.prefix { $0 != "/" })
            guard !bucket.isEmpty else {
                throw ObjectStoreError(
                    code: .invalidURL, message: "'\(text)' names no bucket",
                    hint: "Write \(scheme)://BUCKET/PREFIX, for example \(scheme)://my-bucket/logs/2024/.")
            }
            let prefix = String(rest.dropFirst(bucket.count).drop { $0 == "/" })
            return StorageLocation(kind: .bucket(scheme: scheme, name: bucket), prefix: prefix)
        }
        if let malformed = malformedURL(text) { throw malformed }
        if let scheme = text.range(of: "://"), !text.hasPrefix("file://") {
            throw ObjectStoreError(
                code: .invalidURL, message: "'\(text[..<scheme.lowerBound])://' is not a supported storage scheme",
                hint: supportedForms)
        }
        let path: String
        if text.hasPrefix("file://") {
            guard let url = URL(string: text), url.isFileURL else {
                throw ObjectStoreError(code: .invalidURL, message: "'\(text)' is not a valid file URL")
            }
            if let host = url.host, !host.isEmpty, host != "localhost" {
                throw ObjectStoreError(
                    code: .invalidURL, message: "'\(text)' names the host '\(host)'; only local files are supported",
                    hint: "Write file:///absolute/path (three slashes), or a plain path.")
            }
            path = url.path + (text.hasSuffix("/") ? "/" : "")
        } else {
            guard !text.isEmpty else {
                throw ObjectStoreError(code: .invalidURL, message: "the location is empty",
                    hint: "Give a folder, a path prefix, or " + ObjectStores.schemes.map { "\($0)://BUCKET/PREFIX" }
                        .joined(separator: ", ") + ".")
            }
            path = text
        }
        let url = URL(fileURLWithPath: path).standardizedFileURL
        var isFolder: ObjCBool = false
        if path.hasSuffix("/") || (FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder)
            && isFolder.boolValue)
        {
            return StorageLocation(kind: .local(root: url), prefix: "")
        }
        return StorageLocation(kind: .local(root: url.deletingLastPathComponent()), prefix: url.lastPathComponent)
    }

    /// Schemes people type, so that `s3:/bucket` or `s3:bucket` is taken for a mistyped URL, not a local path.
    static let knownSchemes = ["s3", "s3a", "s3n", "gs", "gcs", "file", "http", "https", "az", "abfs", "abfss", "wasbs"]

    /// An error for text that starts like a URL with a known scheme but lacks the `//` that follows it.
    static func malformedURL(_ text: String) -> ObjectStoreError? {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let scheme = text[..<colon].lowercased()
        let rest = text[text.index(after: colon)...]
        guard knownSchemes.contains(scheme), !rest.hasPrefix("//") else { return nil }
        let fixed = "\(scheme)://" + rest.drop { $0 == "/" }
        return ObjectStoreError(
            code: .invalidURL, message: "'\(text)' is not a valid \(scheme):// URL",
            hint: scheme == "file"
                ? "Write file:///absolute/path (three slashes), or a plain path."
                : "Write it with two slashes: \(fixed)")
    }

    /// The forms a location can take, for hints: `Use s3://BUCKET/PREFIX, gs://BUCKET/PREFIX, file:///PATH, or a
    /// local path.`
    static var supportedForms: String {
        "Use " + ObjectStores.schemes.map { "\($0)://BUCKET/PREFIX, " }.joined() + "file:///PATH, or a local path."
    }

    /// The store this location is in, from `stores` for a bucket.
    /// - Throws: ``ObjectStoreError`` with code ``ObjectStoreError/Code/invalidURL`` when `stores` serves no store
    ///   of the location's scheme.
    public func store(in stores: ObjectStores) throws -> any ObjectStore {
        switch kind {
        case .bucket(let scheme, let name): try stores.store(scheme: scheme, bucket: name)
        case .local(let root): LocalObjectStore(root: root)
        }
    }

    /// The location's URL form of `key`: `s3://bucket/key`, `gs://bucket/key` or `file:///root/key`.
    public func url(for key: String) -> String {
        switch kind {
        case .bucket(let scheme, let name): "\(scheme)://\(name)/\(key)"
        case .local(let root): root.appendingPathComponent(key).absoluteString
        }
    }

    public var description: String {
        switch kind {
        case .bucket(let scheme, let name): "\(scheme)://\(name)/\(prefix)"
        case .local(let root): root.path + (root.path.hasSuffix("/") ? "" : "/") + prefix
        }
    }
}
