/// A failed object-store operation: what failed, why, and what to do about it.
public struct ObjectStoreError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure. New codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Kind: Hashable, Sendable {
            case notFound, noSuchBucket, accessDenied, invalidCredentials, clockSkew, preconditionFailed,
                throttled, invalidArgument, invalidURL, corrupt, server, transport, io
        }

        let kind: Kind

        /// The key does not exist.
        public static let notFound = Code(kind: .notFound)
        /// The bucket does not exist.
        public static let noSuchBucket = Code(kind: .noSuchBucket)
        /// The credentials are valid but not allowed this operation.
        public static let accessDenied = Code(kind: .accessDenied)
        /// The access key or signature was rejected.
        public static let invalidCredentials = Code(kind: .invalidCredentials)
        /// The local clock is too far from the server's for signatures to be accepted.
        public static let clockSkew = Code(kind: .clockSkew)
        /// A conditional write found the key already there.
        public static let preconditionFailed = Code(kind: .preconditionFailed)
        /// The server kept asking us to slow down.
        public static let throttled = Code(kind: .throttled)
        /// The request was malformed (bad key, bad range, bad option).
        public static let invalidArgument = Code(kind: .invalidArgument)
        /// A storage URL could not be understood.
        public static let invalidURL = Code(kind: .invalidURL)
        /// Stored data did not match what was expected of it.
        public static let corrupt = Code(kind: .corrupt)
        /// Any other error the server reported.
        public static let server = Code(kind: .server)
        /// The server could not be reached or the connection failed.
        public static let transport = Code(kind: .transport)
        /// A local file system operation failed.
        public static let io = Code(kind: .io)

        public var description: String { "\(kind)" }
    }

    public var code: Code
    /// What went wrong, in a sentence.
    public var message: String
    /// What a person can do about it, when we know.
    public var hint: String?
    /// The error code the server sent (`NoSuchBucket`, `SlowDown`), if any.
    public var serverCode: String?
    /// The HTTP status, for remote stores.
    public var status: Int?
    /// The server's request id, for support tickets.
    public var requestID: String?
    public var bucket: String?
    public var key: String?
    /// The URL scheme of the bucket's store, for the description (`gs` gives `gs://bucket/key`). Default `s3`.
    public var scheme = "s3"
    /// The error underneath, if any.
    public var underlying: (any Error)?

    public init(
        code: Code, message: String, hint: String? = nil, serverCode: String? = nil, status: Int? = nil,
        requestID: String? = nil, bucket: String? = nil, key: String? = nil, underlying: (any Error)? = nil
    ) {
        self.code = code
        self.message = message
        self.hint = hint
        self.serverCode = serverCode
        self.status = status
        self.requestID = requestID
        self.bucket = bucket
        self.key = key
        self.underlying = underlying
    }

    /// The message, the object, the server's code, the hint and the cause, on one line. An error of the operating
    /// system or of Foundation's file APIs is given as its reason after the message ("cannot write /x: no space left
    /// on device").
    public var description: String {
        var text = message
        if let underlying, SystemErrorText.isSystemError(underlying) {
            text += ": " + SystemErrorText.reason(underlying)
        }
        if let bucket {
            text += key.map { " (\(scheme)://\(bucket)/\($0))" } ?? " (\(scheme)://\(bucket))"
        } else if let key {
            text += " (\(key))"
        }
        if let serverCode, let status { text += " [\(status) \(serverCode)]" }
        if let requestID { text += " request id \(requestID)." }
        if let hint { text += (text.last.map { ".:!?".contains($0) } == true ? " " : ". ") + hint }
        if let underlying, !SystemErrorText.isSystemError(underlying) {
            text += " Cause: " + SystemErrorText.reason(underlying)
        }
        return text
    }
}
