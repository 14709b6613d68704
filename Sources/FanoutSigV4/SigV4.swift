/// Names and limits of AWS Signature Version 4, and the helpers the signer is built from.
///
/// `SigV4` is a namespace. Requests are signed by ``SigV4Signer``; the hashing and URI-encoding
/// helpers on this type are public so that callers build request URLs and payload hashes exactly
/// the way the signer expects them.
public enum SigV4 {
    /// The signing algorithm named in the `Authorization` header and in presigned URLs.
    public static let algorithm = "AWS4-HMAC-SHA256"

    /// The payload hash to sign when the body is not hashed: the body is then not covered by the
    /// signature (TLS still protects it in transit).
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"

    /// The hex SHA-256 of an empty body, the payload hash of a `GET`, `HEAD` or `DELETE`.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// The longest lifetime S3 accepts for a presigned URL: 7 days, in seconds.
    public static let maximumPresignedExpiration: Duration = .seconds(604_800)

    /// Header names never signed, because proxies and HTTP clients may add, drop or rewrite them.
    ///
    /// The list matches the one used by the AWS SDKs. `authorization` is not listed here: the
    /// signer replaces it instead.
    static let unsignedHeaderNames: Set<String> = [
        "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
    ]
}
