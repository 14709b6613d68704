import Foundation
import FanoutHTTP

/// Turns S3's error responses into ``ObjectStoreError``s with a hint a person can act on.
enum S3ErrorResponse {
    /// The error a non-2xx response stands for.
    ///
    /// - Parameter configuredRegion: The region the request was signed for; a bucket in another one explains a 400
    ///   without a body, which is how S3 answers a HEAD to a bucket of another region.
    static func error(
        status: Int, headers: HTTPHeaders, body: Data, bucket: String?, key: String?, configuredRegion: String
    ) -> ObjectStoreError {
        let node = body.isEmpty ? nil : try? XMLNode.parse(body)
        let serverCode = node?["Code"] ?? defaultCode(status: status, key: key)
        let message = node?["Message"] ?? HTTPStatusText.text(for: status)
        let requestID = node?["RequestId"] ?? headers["x-amz-request-id"]
        let bucketRegion = node?["Region"] ?? headers["x-amz-bucket-region"]
        let (code, hint) = classify(
            serverCode: serverCode, status: status, bucket: bucket, region: bucketRegion,
            inAnotherRegion: bucketRegion.map { !$0.isEmpty && $0 != configuredRegion } ?? false)
        return ObjectStoreError(
            code: code, message: message, hint: hint, serverCode: serverCode, status: status, requestID: requestID,
            bucket: bucket, key: key)
    }

    /// HEAD responses carry no body, so their code comes from the status alone.
    private static func defaultCode(status: Int, key: String?) -> String {
        switch status {
        case 404: key == nil ? "NoSuchBucket" : "NoSuchKey"
        case 403: "AccessDenied"
        case 412: "PreconditionFailed"
        case 301: "PermanentRedirect"
        case 503: "SlowDown"
        default: "HTTP\(status)"
        }
    }

    private static func classify(
        serverCode: String, status: Int, bucket: String?, region: String?, inAnotherRegion: Bool
    ) -> (ObjectStoreError.Code, String?) {
        let named = region.map { " (\($0))" } ?? ""
        let wrongRegion: (ObjectStoreError.Code, String?) = (
            .invalidArgument, "The bucket is in another region\(named): set AWS_REGION to it."
        )
        switch serverCode {
        case "NoSuchKey":
            return (.notFound, nil)
        case "NoSuchBucket":
            return (.noSuchBucket, "The bucket does not exist: check its name, or create it first.")
        case "NoSuchUpload":
            return (.notFound, "The multipart upload was aborted or completed already.")
        case "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "TokenRefreshRequired":
            return (
                .invalidCredentials,
                "The credentials were rejected: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, "
                    + "and that a session token has not expired."
            )
        case "AccessDenied", "AllAccessDisabled", "AccountProblem":
            return (
                .accessDenied,
                "The credentials are valid but not allowed this operation on \(bucket.map { "s3://\($0)" } ?? "S3"): "
                    + "check the IAM or bucket policy."
            )
        case "RequestTimeTooSkewed":
            return (.clockSkew, "This machine's clock is too far from the server's: synchronise it (NTP) and retry.")
        case "PreconditionFailed", "ConditionalRequestConflict":
            return (.preconditionFailed, nil)
        case "SlowDown", "ServiceUnavailable", "Throttling", "ThrottlingException", "RequestLimitExceeded":
            return (.throttled, "The server is asking for fewer requests: lower the concurrency and retry later.")
        case "PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException":
            return wrongRegion
        case "InvalidBucketName", "InvalidArgument", "InvalidRange", "KeyTooLongError", "EntityTooSmall",
            "EntityTooLarge", "InvalidPart", "InvalidPartOrder", "MalformedXML", "InvalidRequest":
            return (.invalidArgument, nil)
        default:
            if status == 404 { return (.notFound, nil) }
            if status == 403 { return (.accessDenied, nil) }
            if status == 400 && inAnotherRegion { return wrongRegion }
            return (.server, status >= 500 ? "The server failed; retry later." : nil)
        }
    }
}

enum HTTPStatusText {
    static func text(for status: Int) -> String {
        switch status {
        case 301: "the bucket is in another region"
        case 400: "bad request"
        case 403: "access denied"
        case 404: "not found"
        case 409: "conflict"
        case 412: "precondition failed"
        case 416: "range not satisfiable"
        case 500: "internal server error"
        case 503: "service unavailable"
        default: "HTTP status \(status)"
        }
    }
}
