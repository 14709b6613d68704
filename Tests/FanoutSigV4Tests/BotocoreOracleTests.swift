import FanoutSigV4
import Foundation
import Testing

/// Cases beyond AWS's documentation, for the encoding corners: spaces, `+`, `=`, `~`, `/`, unicode, a
/// session token, ports and query parameters that need escaping.
///
/// Every expected signature below was computed once with botocore's own signers (`S3SigV4Auth` and
/// `S3SigV4QueryAuth`, botocore 1.43.11, with a fixed clock) by `scripts/dev/sigv4_oracle.py`; the
/// case names match that script's. The tests do not run it.
@Suite("Signatures computed by botocore")
struct BotocoreOracleTests {
    struct HeaderCase: Sendable, CustomTestStringConvertible {
        let name: String
        let method: String
        let url: String
        var headers: [(name: String, value: String)] = []
        let payloadHash: String
        var region = "us-east-1"
        var sessionToken: String?
        var date = Fixtures.date
        let canonicalURI: String
        var canonicalQueryString = ""
        let signedHeaders: String
        let signature: String

        var testDescription: String { name }
    }

    static let headerCases: [HeaderCase] = [
        HeaderCase(
            name: "put special key",
            method: "PUT",
            url: Fixtures.bucket + "/" + SigV4.uriEncode("my file+name=1~x/sub dir/a.txt", encodeSlash: false),
            headers: [("Content-Type", "text/plain")],
            payloadHash: SigV4.sha256Hex("hello"),
            canonicalURI: "/my%20file%2Bname%3D1~x/sub%20dir/a.txt",
            signedHeaders: "content-type;host;x-amz-content-sha256;x-amz-date",
            signature: "fcdd351ff39ba9099c75c2fcd74836a01aca3d3780983ae36bafaa113f76b907"
        ),
        HeaderCase(
            name: "get unicode key unsigned",
            method: "GET",
            url: Fixtures.bucket + "/" + SigV4.uriEncode("données/été.txt", encodeSlash: false),
            payloadHash: SigV4.unsignedPayload,
            canonicalURI: "/donn%C3%A9es/%C3%A9t%C3%A9.txt",
            signedHeaders: "host;x-amz-content-sha256;x-amz-date",
            signature: "fd2cbc1838f360fc0d8309916ce3f9442f42222c234495297d2b52c2812a288b"
        ),
        HeaderCase(
            name: "list special query",
            method: "GET",
            url: Fixtures.bucket
                + "/?list-type=2&prefix=a%20b%2Bc%2F%C3%A9&delimiter=%2F&continuation-token=abc%3D%3D"
                + "&start-after=x%2Ay%27%28z%29%21",
            payloadHash: SigV4.emptyPayloadHash,
            canonicalURI: "/",
            canonicalQueryString: "continuation-token=abc%3D%3D&delimiter=%2F&list-type=2&prefix=a%20b%2Bc%2F%C3%A9"
                + "&start-after=x%2Ay%27%28z%29%21",
            signedHeaders: "host;x-amz-content-sha256;x-amz-date",
            signature: "79cfea60b738cd5709e75a90b3b02a8df8362b588a253d885af97433358f1f82"
        ),
        HeaderCase(
            // The same request, its URL written with only the escapes a URL needs: same canonical form.
            name: "list special query, loosely encoded URL",
            method: "GET",
            url: Fixtures.bucket
                + "/?list-type=2&prefix=a%20b%2Bc/%C3%A9&delimiter=/&continuation-token=abc==&start-after=x*y'(z)!",
            payloadHash: SigV4.emptyPayloadHash,
            canonicalURI: "/",
            canonicalQueryString: "continuation-token=abc%3D%3D&delimiter=%2F&list-type=2&prefix=a%20b%2Bc%2F%C3%A9"
                + "&start-after=x%2Ay%27%28z%29%21",
            signedHeaders: "host;x-amz-content-sha256;x-amz-date",
            signature: "79cfea60b738cd5709e75a90b3b02a8df8362b588a253d885af97433358f1f82"
        ),
        HeaderCase(
            name: "session token",
            method: "GET",
            url: Fixtures.bucket + "/test.txt",
            payloadHash: SigV4.emptyPayloadHash,
            sessionToken: Fixtures.sessionToken,
            canonicalURI: "/test.txt",
            signedHeaders: "host;x-amz-content-sha256;x-amz-date;x-amz-security-token",
            signature: "0cdb4855daed87a999d4423a40304307577c03ca3fccd20f5afdedcfe65cc0e2"
        ),
        HeaderCase(
            name: "port and whitespace",
            method: "PUT",
            url: "http://localhost:9000/bucket/dir/obj.bin",
            headers: [("X-Amz-Meta-Note", "  hello    world  "), ("Content-Length", "3")],
            payloadHash: SigV4.sha256Hex("abc"),
            region: "eu-west-1",
            date: Fixtures.leapDate,
            canonicalURI: "/bucket/dir/obj.bin",
            signedHeaders: "content-length;host;x-amz-content-sha256;x-amz-date;x-amz-meta-note",
            signature: "ad055077b4f5e5d6073a74e8e70752825949289854a9f4ccf9ca0567fb1334c3"
        ),
    ]

    @Test("Authorization header", arguments: headerCases)
    func authorizationHeader(_ test: HeaderCase) throws {
        let signer = SigV4Signer(
            credentials: AWSCredentials(
                accessKeyID: Fixtures.credentials.accessKeyID,
                secretAccessKey: Fixtures.credentials.secretAccessKey,
                sessionToken: test.sessionToken
            ),
            region: test.region
        )
        let url = Fixtures.url(test.url)
        let headers = try signer.signHeaders(
            method: test.method, url: url, headers: test.headers, payloadHash: test.payloadHash, date: test.date
        )
        let scope = signer.credentialScope(date: test.date)
        #expect(
            headers.value(of: "Authorization")
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/\(scope), "
                + "SignedHeaders=\(test.signedHeaders), Signature=\(test.signature)"
        )
        let request = try signer.canonicalRequest(
            method: test.method, url: url, headers: headers, payloadHash: test.payloadHash
        )
        #expect(request.canonicalURI == test.canonicalURI)
        #expect(request.canonicalQueryString == test.canonicalQueryString)
    }

    struct PresignCase: Sendable, CustomTestStringConvertible {
        let name: String
        var method = "GET"
        let url: String
        let expires: Duration
        var headers: [(name: String, value: String)] = []
        var region = "us-east-1"
        var sessionToken: String?
        var date = Fixtures.date
        let signedHeaders: String
        let signature: String

        var testDescription: String { name }
    }

    static let presignCases: [PresignCase] = [
        PresignCase(
            name: "presign token special",
            url: Fixtures.bucket + "/" + SigV4.uriEncode("données/a b+c=~.txt", encodeSlash: false),
            expires: .seconds(3600),
            sessionToken: Fixtures.sessionToken,
            signedHeaders: "host",
            signature: "b387f572a9e79e899092f366cc3dbf1898e8069429e399a785d8dd26a125c6ff"
        ),
        PresignCase(
            name: "presign port query",
            url: "http://127.0.0.1:9000/bucket/obj?response-content-disposition="
                + SigV4.uriEncode("attachment; filename=\"a b.txt\"") + "&versionId=" + SigV4.uriEncode("v+1="),
            expires: .seconds(600),
            region: "eu-central-1",
            date: Fixtures.leapDate,
            signedHeaders: "host",
            signature: "f9fbe8dad5173ffbaf4018510317ce631baddf048628b51ca3c035659f71b6f1"
        ),
        PresignCase(
            name: "presign put content-type",
            method: "PUT",
            url: Fixtures.bucket + "/upload/part.bin",
            expires: .seconds(604_800),
            headers: [("Content-Type", "application/octet-stream")],
            signedHeaders: "content-type;host",
            signature: "fff5c2dfee5c608d55accd4529214db7ab5c875d91d6022b1cfd4d8eb9020a5e"
        ),
    ]

    @Test("Presigned URL", arguments: presignCases)
    func presignedURL(_ test: PresignCase) throws {
        let signer = SigV4Signer(
            credentials: AWSCredentials(
                accessKeyID: Fixtures.credentials.accessKeyID,
                secretAccessKey: Fixtures.credentials.secretAccessKey,
                sessionToken: test.sessionToken
            ),
            region: test.region
        )
        let url = try signer.presignURL(
            method: test.method, url: Fixtures.url(test.url), expires: test.expires, date: test.date,
            headers: test.headers
        )
        #expect(url.queryValue("X-Amz-Signature") == test.signature)
        #expect(url.queryValue("X-Amz-SignedHeaders") == test.signedHeaders)
        #expect(url.queryValue("X-Amz-Security-Token") == test.sessionToken)
        #expect(url.queryValue("X-Amz-Credential") == "AKIAIOSFODNN7EXAMPLE/\(signer.credentialScope(date: test.date))")
        #expect(url.query(percentEncoded: true)?.hasSuffix("&X-Amz-Signature=\(test.signature)") == true)
    }
}
