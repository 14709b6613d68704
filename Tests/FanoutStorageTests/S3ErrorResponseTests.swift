import FanoutHTTP
@testable import FanoutStorage
import Foundation
import Testing

/// Error bodies in the form AWS documents for S3 (`<Error><Code>…</Code><Message>…</Message>…</Error>`), for the
/// failures moto cannot produce: it checks neither signatures nor clocks.
@Suite("S3ErrorResponse")
struct S3ErrorResponseTests {
    func error(
        status: Int, code: String? = nil, message: String = "m", extra: String = "", headers: HTTPHeaders = [:],
        bucket: String? = "b", key: String? = "k", configuredRegion: String = "us-east-1"
    ) -> ObjectStoreError {
        let body = code.map {
            """
            <?xml version="1.0" encoding="UTF-8"?>
            <Error><Code>\($0)</Code><Message>\(message)</Message>\(extra)<RequestId>4442587FB7D0A2F9</RequestId>\
            <HostId>host-id</HostId></Error>
            """
        }
        return S3ErrorResponse.error(
            status: status, headers: headers, body: Data((body ?? "").utf8), bucket: bucket, key: key,
            configuredRegion: configuredRegion)
    }

    @Test("a wrong access key or secret is invalidCredentials, with a hint naming the variables")
    func invalidCredentials() {
        for code in ["InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"] {
            let error = error(
                status: 403, code: code,
                message: "The request signature we calculated does not match the signature you provided.",
                extra: "<AWSAccessKeyId>AKIAIOSFODNN7EXAMPLE</AWSAccessKeyId><StringToSign>…</StringToSign>")
            #expect(error.code == .invalidCredentials, "\(code)")
            #expect(error.hint?.contains("AWS_ACCESS_KEY_ID") == true, "\(code)")
            #expect(error.serverCode == code)
            #expect(error.status == 403)
            #expect(error.requestID == "4442587FB7D0A2F9")
        }
        let description = error(status: 403, code: "SignatureDoesNotMatch", message: "Bad signature.").description
        #expect(description.contains("Bad signature."))
        #expect(description.contains("[403 SignatureDoesNotMatch]"))
        #expect(description.contains("AWS_SECRET_ACCESS_KEY"))
    }

    @Test("a skewed clock is clockSkew, with a hint to synchronise it")
    func clockSkew() {
        let error = error(
            status: 403, code: "RequestTimeTooSkewed",
            message: "The difference between the request time and the current time is too large.",
            extra: "<RequestTime>20240101T000000Z</RequestTime><ServerTime>2024-01-01T00:20:00Z</ServerTime>"
                + "<MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds>")
        #expect(error.code == .clockSkew)
        #expect(error.hint?.contains("clock") == true)
    }

    @Test("valid credentials without permission are accessDenied, naming the bucket")
    func accessDenied() {
        let error = error(status: 403, code: "AccessDenied", message: "Access Denied")
        #expect(error.code == .accessDenied)
        #expect(error.hint?.contains("s3://b") == true)
    }

    @Test("missing bucket, missing key, and a failed precondition")
    func notFound() {
        let bucket = error(status: 404, code: "NoSuchBucket", extra: "<BucketName>b</BucketName>", key: nil)
        #expect(bucket.code == .noSuchBucket)
        #expect(bucket.hint != nil)
        #expect(error(status: 404, code: "NoSuchKey").code == .notFound)
        #expect(error(status: 404, code: "NoSuchUpload").code == .notFound)
        #expect(error(status: 412, code: "PreconditionFailed").code == .preconditionFailed)
        #expect(error(status: 409, code: "ConditionalRequestConflict").code == .preconditionFailed)
    }

    @Test("HEAD errors have no body: the status decides")
    func emptyBodies() {
        let key = error(status: 404, headers: ["x-amz-request-id": "REQ1"])
        #expect(key.code == .notFound)
        #expect(key.serverCode == "NoSuchKey")
        #expect(key.requestID == "REQ1")
        #expect(error(status: 404, key: nil).code == .noSuchBucket)
        #expect(error(status: 403).code == .accessDenied)
        #expect(error(status: 412).code == .preconditionFailed)
        #expect(error(status: 503).code == .throttled)
        let teapot = error(status: 418)
        #expect(teapot.code == .server)
        #expect(teapot.serverCode == "HTTP418")
    }

    @Test("throttling is throttled with a hint; unknown 5xx is server with a retry hint")
    func throttledAndServer() {
        for code in ["SlowDown", "ServiceUnavailable", "Throttling", "RequestLimitExceeded"] {
            let error = error(status: 503, code: code)
            #expect(error.code == .throttled, "\(code)")
            #expect(error.hint?.contains("fewer requests") == true)
        }
        let serverError = error(status: 500, code: "InternalError")
        #expect(serverError.code == .server)
        #expect(serverError.hint?.contains("retry") == true)
    }

    @Test("a bucket in another region says which, from the body or the x-amz-bucket-region header")
    func wrongRegion() {
        let malformed = error(
            status: 400, code: "AuthorizationHeaderMalformed",
            message: "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'",
            extra: "<Region>eu-west-1</Region>")
        #expect(malformed.code == .invalidArgument)
        #expect(malformed.hint?.contains("eu-west-1") == true)

        let redirect = error(
            status: 301, code: "PermanentRedirect",
            message: "The bucket you are attempting to access must be addressed using the specified endpoint.",
            extra: "<Endpoint>b.s3.eu-central-1.amazonaws.com</Endpoint><Bucket>b</Bucket>",
            headers: ["x-amz-bucket-region": "eu-central-1"])
        #expect(redirect.code == .invalidArgument)
        #expect(redirect.hint?.contains("eu-central-1") == true)
        #expect(redirect.hint?.contains("AWS_REGION") == true)
    }

    @Test("a HEAD answered 400 with the bucket's region in a header names that region")
    func headInAnotherRegion() {
        let head = error(
            status: 400, headers: ["x-amz-bucket-region": "eu-west-1", "x-amz-request-id": "REQ2"],
            configuredRegion: "us-east-1")
        #expect(head.code == .invalidArgument)
        #expect(head.hint == "The bucket is in another region (eu-west-1): set AWS_REGION to it.")
        #expect(head.requestID == "REQ2")

        // The bucket's own region, or none at all, explains nothing: still a plain bad request.
        for headers: HTTPHeaders in [["x-amz-bucket-region": "us-east-1"], [:]] {
            let plain = error(status: 400, headers: headers, configuredRegion: "us-east-1")
            #expect(plain.code == .server)
            #expect(plain.hint == nil)
        }
    }

    @Test("a body that is not XML still gives a usable error")
    func garbageBody() {
        let error = S3ErrorResponse.error(
            status: 502, headers: [:], body: Data("<html>Bad Gateway</html".utf8), bucket: "b", key: nil,
            configuredRegion: "us-east-1")
        #expect(error.code == .server)
        #expect(error.status == 502)
        #expect(!error.message.isEmpty)
    }
}
