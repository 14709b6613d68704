import Foundation

/// The fields of the JSON API's object resource that Fanout reads. Numbers arrive as strings.
struct GCSObjectResource: Decodable {
    var name: String
    var size: String?
    var generation: String?
    var updated: String?

    /// What the ``ObjectStore`` seam calls an object: the generation is its ETag.
    var info: ObjectInfo {
        ObjectInfo(
            key: name, size: Int64(size ?? "") ?? 0, etag: generation ?? "",
            lastModified: updated.flatMap(Self.parseDate) ?? Date(timeIntervalSince1970: 0))
    }

    /// An RFC 3339 time, with or without fractional seconds.
    static func parseDate(_ text: String) -> Date? {
        (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
            ?? (try? Date(text, strategy: Date.ISO8601FormatStyle()))
    }

    /// Decodes a response body.
    /// - Throws: ``ObjectStoreError`` with code ``ObjectStoreError/Code/corrupt`` when it is not an object resource.
    static func decode(_ body: Data, bucket: String, key: String) throws -> GCSObjectResource {
        do {
            return try JSONDecoder().decode(GCSObjectResource.self, from: body)
        } catch {
            var failure = ObjectStoreError(
                code: .corrupt, message: "Cloud Storage answered with something other than an object resource",
                bucket: bucket, key: key, underlying: error)
            failure.scheme = "gs"
            throw failure
        }
    }
}

/// A page of the JSON API's object listing.
struct GCSObjectList: Decodable {
    var items: [GCSObjectResource]?
    var prefixes: [String]?
    var nextPageToken: String?
}
