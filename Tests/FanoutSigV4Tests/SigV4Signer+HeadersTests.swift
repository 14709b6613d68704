import FanoutSigV4
import Foundation
import Testing

@Suite("Signing with the Authorization header")
struct SigV4SignerHeadersTests {
    let signer = Fixtures.signer
    let url = Fixtures.url("\(Fixtures.bucket)/test.txt")

    @Test("Adds x-amz-date, x-amz-content-sha256 and Authorization after the caller's headers")
    func addedHeaders() throws {
        let headers = try signer.signHeaders(
            method: "GET",
            url: url,
            headers: [("Range", "bytes=0-9")],
            payloadHash: SigV4.emptyPayloadHash,
            date: Fixtures.date
        )
        #expect(headers.map(\.name) == ["Range", "x-amz-date", "x-amz-content-sha256", "Authorization"])
        #expect(headers.value(of: "x-amz-date") == "20130524T000000Z")
        #expect(headers.value(of: "x-amz-content-sha256") == SigV4.emptyPayloadHash)
        #expect(headers.values(of: "x-amz-security-token").isEmpty)
        #expect(headers.values(of: "host").isEmpty, "Host is signed but left to the HTTP client")
    }

    @Test("A session token is sent as x-amz-security-token and signed")
    func sessionToken() throws {
        // Expected value computed with botocore's S3SigV4Auth (scripts/dev/sigv4_oracle.py, "session token").
        let headers = try Fixtures.temporarySigner.signHeaders(
            method: "GET", url: url, payloadHash: SigV4.emptyPayloadHash, date: Fixtures.date
        )
        #expect(headers.value(of: "x-amz-security-token") == Fixtures.sessionToken)
        #expect(
            headers.value(of: "Authorization")
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, "
                + "Signature=0cdb4855daed87a999d4423a40304307577c03ca3fccd20f5afdedcfe65cc0e2"
        )
    }

    @Test("An empty session token is treated as none")
    func emptySessionToken() throws {
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret", sessionToken: ""),
            region: "us-east-1"
        )
        let headers = try signer.signHeaders(
            method: "GET", url: url, payloadHash: SigV4.emptyPayloadHash, date: Fixtures.date
        )
        #expect(headers.values(of: "x-amz-security-token").isEmpty)
        #expect(headers.value(of: "Authorization")?.contains("x-amz-security-token") == false)
    }

    @Test("Stale signing headers from an earlier attempt are replaced, not duplicated")
    func replacesStaleHeaders() throws {
        let fresh = try Fixtures.temporarySigner.signHeaders(
            method: "GET",
            url: url,
            headers: [("Range", "bytes=0-9")],
            payloadHash: SigV4.emptyPayloadHash,
            date: Fixtures.date
        )
        let stale = try Fixtures.temporarySigner.signHeaders(
            method: "GET",
            url: url,
            headers: [
                ("Range", "bytes=0-9"), ("X-Amz-Date", "20000101T000000Z"), ("authorization", "AWS4-HMAC-SHA256 old"),
                ("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD"), ("X-Amz-Security-Token", "old-token"),
            ],
            payloadHash: SigV4.emptyPayloadHash,
            date: Fixtures.date
        )
        #expect(stale.map(\.name) == fresh.map(\.name))
        #expect(stale.map(\.value) == fresh.map(\.value))
    }

    @Test("UNSIGNED-PAYLOAD is signed and sent as the content hash")
    func unsignedPayload() throws {
        let headers = try signer.signHeaders(
            method: "PUT", url: url, payloadHash: SigV4.unsignedPayload, date: Fixtures.date
        )
        let signed = try signer.signHeaders(
            method: "PUT", url: url, payloadHash: SigV4.sha256Hex("body"), date: Fixtures.date
        )
        #expect(headers.value(of: "x-amz-content-sha256") == "UNSIGNED-PAYLOAD")
        #expect(headers.value(of: "Authorization") != signed.value(of: "Authorization"))
    }

    @Test(
        "A malformed payload hash is rejected",
        arguments: ["", "abc", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", "unsigned-payload"]
    )
    func malformedPayloadHash(_ payloadHash: String) {
        #expect {
            _ = try signer.signHeaders(method: "GET", url: url, payloadHash: payloadHash, date: Fixtures.date)
        } throws: { error in
            (error as? SigV4Error)?.code == .invalidPayloadHash
        }
    }

    @Test("A URL without a host cannot be signed unless a Host header is given")
    func missingHost() throws {
        let relative = Fixtures.url("/test.txt")
        let error = #expect(throws: SigV4Error.self) {
            try signer.signHeaders(
                method: "GET", url: relative, payloadHash: SigV4.emptyPayloadHash, date: Fixtures.date
            )
        }
        #expect(error?.code == .missingHost)
        #expect(error?.message.contains("Host header") == true)

        let withHost = try signer.signHeaders(
            method: "GET",
            url: relative,
            headers: [("Host", "examplebucket.s3.amazonaws.com")],
            payloadHash: SigV4.emptyPayloadHash,
            date: Fixtures.date
        )
        let absolute = try signer.signHeaders(
            method: "GET", url: url, payloadHash: SigV4.emptyPayloadHash, date: Fixtures.date
        )
        #expect(withHost.value(of: "Authorization") == absolute.value(of: "Authorization"))
    }

    @Test("The signing time comes from the date argument only")
    func injectedDate() throws {
        func sign(_ date: Date) throws -> [(name: String, value: String)] {
            try signer.signHeaders(method: "GET", url: url, payloadHash: SigV4.emptyPayloadHash, date: date)
        }
        let first = try sign(Fixtures.date)
        let again = try sign(Fixtures.date)
        let fraction = try sign(Fixtures.date.addingTimeInterval(0.999))
        let later = try sign(Fixtures.leapDate)
        #expect(first.value(of: "Authorization") == again.value(of: "Authorization"))
        #expect(fraction.value(of: "Authorization") == first.value(of: "Authorization"))
        #expect(later.value(of: "x-amz-date") == "20240229T235959Z")
        #expect(later.value(of: "Authorization")?.contains("/20240229/us-east-1/s3/aws4_request") == true)
        #expect(later.value(of: "Authorization") != first.value(of: "Authorization"))
    }

    @Test("The method is signed in upper case")
    func methodCase() throws {
        func sign(_ method: String) throws -> String? {
            try signer.signHeaders(
                method: method, url: url, payloadHash: SigV4.emptyPayloadHash, date: Fixtures.date
            ).value(of: "Authorization")
        }
        let lower = try sign("get")
        let upper = try sign("GET")
        let other = try sign("HEAD")
        #expect(lower == upper)
        #expect(other != upper)
        #expect(upper != nil)
    }
}
