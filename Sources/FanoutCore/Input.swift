public import Foundation
public import FanoutStorage

/// What a run maps over: the files under a location, narrowed by a filter, or an explicit list of keys.
public struct Input: Sendable {
    /// `s3://bucket/prefix`, `file:///path`, or a local path.
    public var location: String
    /// When set, exactly these keys (relative to the location's store), instead of a listing.
    public var keys: [String]?
    public var filter: FileFilter

    public init(_ location: String, filter: FileFilter = FileFilter()) {
        self.location = location
        self.filter = filter
    }

    /// Exactly these keys of the store at `location`.
    public static func files(_ keys: [String], in location: String) -> Input {
        var input = Input(location)
        input.keys = keys
        return input
    }
}

extension Input: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self.init(value) }
}

/// Which listed files to keep.
public struct FileFilter: Sendable, Hashable, Codable {
    /// Keep only keys matching one of these globs (`*`, `?`, `[...]`), matched against the key relative to the
    /// input prefix; `*` also matches `/`. Default: everything.
    public var include: [String]
    /// Drop keys matching one of these globs. Default: none.
    public var exclude: [String]
    /// Smallest size kept, in bytes. Default `nil`.
    public var minSize: Int64?
    /// Largest size kept, in bytes. Default `nil`.
    public var maxSize: Int64?
    /// Keep only files modified at or after this date. Default `nil`.
    public var modifiedSince: Date?

    public init(
        include: [String] = [], exclude: [String] = [], minSize: Int64? = nil, maxSize: Int64? = nil,
        modifiedSince: Date? = nil
    ) {
        self.include = include
        self.exclude = exclude
        self.minSize = minSize
        self.maxSize = maxSize
        self.modifiedSince = modifiedSince
    }

    /// Whether a listed object passes; `relativeKey` is its key without the input prefix.
    public func accepts(_ object: ObjectInfo, relativeKey: String) -> Bool {
        if let minSize, object.size < minSize { return false }
        if let maxSize, object.size > maxSize { return false }
        if let modifiedSince, object.lastModified < modifiedSince { return false }
        if !include.isEmpty, !include.contains(where: { Glob.matches($0, relativeKey) }) { return false }
        if exclude.contains(where: { Glob.matches($0, relativeKey) }) { return false }
        return true
    }
}

/// Shell-style wildcard matching through the C library's `fnmatch`, where `*` matches `/` too.
enum Glob {
    static func matches(_ pattern: String, _ text: String) -> Bool {
        fnmatch(pattern, text, 0) == 0
    }
}
