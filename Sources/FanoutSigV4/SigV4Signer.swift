public import Foundation

/// Signs HTTP requests for one set of credentials, region and service with AWS Signature Version 4.
///
/// The signer does no I/O and never reads the clock: every function takes the signing time as its
/// `date:` argument. Its staged functions follow the steps of AWS's documentation, so each can be
/// checked on its own:
///
/// 1. ``canonicalRequest(method:url:headers:payloadHash:)``
/// 2. ``stringToSign(canonicalRequest:date:)``
/// 3. ``signingKey(date:)``
/// 4. ``signature(stringToSign:signingKey:)``
///
/// Most callers use the two that run all four: ``signHeaders(method:url:headers:payloadHash:date:)``
/// for the `Authorization` header, and ``presignURL(method:url:expires:date:headers:)`` for query-string
/// signing. S3 rules apply throughout: paths are encoded once, never normalized.
public struct SigV4Signer: Sendable {
    /// The credentials requests are signed with.
    public var credentials: AWSCredentials
    /// The region in the credential scope, such as `us-east-1`.
    public var region: String
    /// The service in the credential scope; `s3` by default.
    public var service: String

    /// Creates a signer.
    ///
    /// - Parameters:
    ///   - credentials: The credentials to sign with.
    ///   - region: The region of the endpoint, such as `us-east-1`.
    ///   - service: The signing name of the service; defaults to `s3`.
    public init(credentials: AWSCredentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// The credential scope for `date`: `yyyyMMdd/region/service/aws4_request`.
    public func credentialScope(date: Date) -> String {
        "\(SigV4Timestamp(date).dateStamp)/\(region)/\(service)/aws4_request"
    }

    /// Step 2: the string to sign, which binds the hashed canonical request to the time and scope.
    ///
    /// It is four lines: the algorithm, the `x-amz-date` timestamp, the credential scope, and the
    /// hex SHA-256 of the canonical request's text.
    public func stringToSign(canonicalRequest: CanonicalRequest, date: Date) -> String {
        [
            SigV4.algorithm,
            SigV4Timestamp(date).amzDate,
            credentialScope(date: date),
            SigV4.sha256Hex(canonicalRequest.text),
        ].joined(separator: "\n")
    }

    /// Step 3: the signing key for the day of `date`, derived from the secret by a chain of HMAC-SHA256.
    ///
    /// The chain keys `AWS4` + secret over the date stamp, then each result over the region, the service
    /// and `aws4_request`. The key is valid for that day, region and service only.
    public func signingKey(date: Date) -> Data {
        let dateKey = SigV4.hmacSHA256(
            key: Data("AWS4\(credentials.secretAccessKey)".utf8),
            message: SigV4Timestamp(date).dateStamp
        )
        let regionKey = SigV4.hmacSHA256(key: dateKey, message: region)
        let serviceKey = SigV4.hmacSHA256(key: regionKey, message: service)
        return SigV4.hmacSHA256(key: serviceKey, message: "aws4_request")
    }

    /// Step 4: the signature, the lowercase hex HMAC-SHA256 of the string to sign under the signing key.
    public func signature(stringToSign: String, signingKey: Data) -> String {
        SigV4.hex(SigV4.hmacSHA256(key: signingKey, message: stringToSign))
    }

    /// Runs steps 2 to 4 on a canonical request.
    func signature(for canonicalRequest: CanonicalRequest, date: Date) -> String {
        signature(
            stringToSign: stringToSign(canonicalRequest: canonicalRequest, date: date),
            signingKey: signingKey(date: date)
        )
    }

    /// The session token to send, if the credentials have a non-empty one.
    var sessionToken: String? {
        guard let token = credentials.sessionToken, !token.isEmpty else {
            return nil
        }
        return token
    }
}
