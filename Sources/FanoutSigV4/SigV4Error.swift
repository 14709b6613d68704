/// An error from signing a request: the request or its parameters cannot be signed as given.
public struct SigV4Error: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, as a value that can be matched; new codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Kind: String, Sendable, Hashable {
            case invalidExpiration
            case invalidPayloadHash
            case missingHost
            case invalidURL
        }

        let kind: Kind

        /// A presigned URL's lifetime is outside 1 second to 7 days.
        public static let invalidExpiration = Code(kind: .invalidExpiration)
        /// The payload hash is neither 64 lowercase hex digits nor `UNSIGNED-PAYLOAD`.
        public static let invalidPayloadHash = Code(kind: .invalidPayloadHash)
        /// The URL has no host and no `Host` header was given, so there is no host to sign.
        public static let missingHost = Code(kind: .missingHost)
        /// The URL cannot be taken apart or put back together.
        public static let invalidURL = Code(kind: .invalidURL)

        public var description: String {
            kind.rawValue
        }
    }

    /// What went wrong.
    public let code: Code
    /// What happened and what to do about it.
    public let message: String

    public var description: String {
        "SigV4Error.\(code): \(message)"
    }

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
