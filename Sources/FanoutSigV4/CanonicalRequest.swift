/// The canonical form of an HTTP request, the first step of SigV4 signing.
///
/// Each part is kept separately so it can be inspected and tested; ``text`` is what gets hashed into
/// the string to sign. Create one with ``SigV4Signer/canonicalRequest(method:url:headers:payloadHash:)``.
public struct CanonicalRequest: Sendable, Hashable, CustomStringConvertible {
    /// The HTTP method, uppercased.
    public let method: String
    /// The URL path, each segment URI-encoded once (S3 never encodes twice); `/` when empty.
    public let canonicalURI: String
    /// The query parameters, URI-encoded, sorted by name then value, joined with `&`.
    public let canonicalQueryString: String
    /// One `name:value` line per signed header, each ending in a newline: names lowercased and sorted,
    /// values trimmed with inner runs of spaces collapsed, repeated headers joined with commas.
    public let canonicalHeaders: String
    /// The signed header names, lowercased, sorted and joined with `;`.
    public let signedHeaders: String
    /// The hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
    public let payloadHash: String

    /// The six parts joined with newlines.
    public var text: String {
        [method, canonicalURI, canonicalQueryString, canonicalHeaders, signedHeaders, payloadHash]
            .joined(separator: "\n")
    }

    /// The same as ``text``.
    public var description: String {
        text
    }
}
