import FanoutSigV4
import Foundation
import Testing

/// The worked examples of AWS's "Signature Calculations for the Authorization Header: Transferring
/// Payload in a Single Chunk" and "Authenticating Requests: Using Query Parameters" S3 pages, checked
/// step by step, and the signing-key example of the general SigV4 documentation.
@Suite("AWS documentation examples")
struct SigV4SignerTests {
    let signer = Fixtures.signer
    let date = Fixtures.date

    @Test("GET object with a Range header")
    func getObject() throws {
        let url = Fixtures.url("\(Fixtures.bucket)/test.txt")
        let headers = try signer.signHeaders(
            method: "GET",
            url: url,
            headers: [("Range", "bytes=0-9")],
            payloadHash: SigV4.emptyPayloadHash,
            date: date
        )
        #expect(
            headers.value(of: "Authorization")
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        )

        let request = try signer.canonicalRequest(
            method: "GET",
            url: url,
            headers: [
                ("Range", "bytes=0-9"), ("x-amz-content-sha256", SigV4.emptyPayloadHash),
                ("x-amz-date", "20130524T000000Z"),
            ],
            payloadHash: SigV4.emptyPayloadHash
        )
        #expect(
            request.text == """
                GET
                /test.txt

                host:examplebucket.s3.amazonaws.com
                range:bytes=0-9
                x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                x-amz-date:20130524T000000Z

                host;range;x-amz-content-sha256;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """
        )
        let stringToSign = signer.stringToSign(canonicalRequest: request, date: date)
        #expect(
            stringToSign == """
                AWS4-HMAC-SHA256
                20130524T000000Z
                20130524/us-east-1/s3/aws4_request
                7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972
                """
        )
        #expect(
            signer.signature(stringToSign: stringToSign, signingKey: signer.signingKey(date: date))
                == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        )
    }

    @Test("PUT object with a Date header, a storage class and a '$' in the key")
    func putObject() throws {
        let body = Data("Welcome to Amazon S3.".utf8)
        let payloadHash = SigV4.sha256Hex(body)
        #expect(payloadHash == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")

        let url = Fixtures.url("\(Fixtures.bucket)/test$file.text")
        let given: [(name: String, value: String)] = [
            ("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ]
        let headers = try signer.signHeaders(
            method: "PUT", url: url, headers: given, payloadHash: payloadHash, date: date
        )
        #expect(
            headers.value(of: "Authorization")
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
                + "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
        )

        let request = try signer.canonicalRequest(
            method: "PUT",
            url: url,
            headers: given + [("x-amz-content-sha256", payloadHash), ("x-amz-date", "20130524T000000Z")],
            payloadHash: payloadHash
        )
        #expect(
            request.text == """
                PUT
                /test%24file.text

                date:Fri, 24 May 2013 00:00:00 GMT
                host:examplebucket.s3.amazonaws.com
                x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072
                x-amz-date:20130524T000000Z
                x-amz-storage-class:REDUCED_REDUNDANCY

                date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class
                44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072
                """
        )
        #expect(
            signer.stringToSign(canonicalRequest: request, date: date) == """
                AWS4-HMAC-SHA256
                20130524T000000Z
                20130524/us-east-1/s3/aws4_request
                9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d
                """
        )
    }

    @Test("GET bucket lifecycle: a query parameter without a value")
    func getLifecycle() throws {
        let url = Fixtures.url("\(Fixtures.bucket)/?lifecycle")
        let headers = try signer.signHeaders(
            method: "GET", url: url, payloadHash: SigV4.emptyPayloadHash, date: date
        )
        #expect(
            headers.value(of: "Authorization")
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
                + "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"
        )

        let request = try signer.canonicalRequest(
            method: "GET",
            url: url,
            headers: [("x-amz-content-sha256", SigV4.emptyPayloadHash), ("x-amz-date", "20130524T000000Z")],
            payloadHash: SigV4.emptyPayloadHash
        )
        #expect(request.canonicalURI == "/")
        #expect(request.canonicalQueryString == "lifecycle=")
        #expect(
            signer.stringToSign(canonicalRequest: request, date: date).hasSuffix(
                "\n9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca"
            )
        )
    }

    @Test("GET bucket listing with max-keys and prefix")
    func listObjects() throws {
        let url = Fixtures.url("\(Fixtures.bucket)/?max-keys=2&prefix=J")
        let headers = try signer.signHeaders(
            method: "GET", url: url, payloadHash: SigV4.emptyPayloadHash, date: date
        )
        #expect(
            headers.value(of: "Authorization")
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
                + "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
        )

        let request = try signer.canonicalRequest(
            method: "GET",
            url: url,
            headers: [("x-amz-content-sha256", SigV4.emptyPayloadHash), ("x-amz-date", "20130524T000000Z")],
            payloadHash: SigV4.emptyPayloadHash
        )
        #expect(request.canonicalQueryString == "max-keys=2&prefix=J")
        #expect(
            signer.stringToSign(canonicalRequest: request, date: date).hasSuffix(
                "\ndf57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7"
            )
        )
    }

    @Test("Presigned GET object valid for 24 hours")
    func presignedGetObject() throws {
        let url = try signer.presignURL(
            method: "GET",
            url: Fixtures.url("\(Fixtures.bucket)/test.txt"),
            expires: .seconds(86_400),
            date: date
        )
        #expect(
            url.absoluteString
                == "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                + "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                + "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
                + "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        )

        // The documented intermediate steps: the canonical request is the URL without its signature.
        let unsigned = Fixtures.url(
            "\(Fixtures.bucket)/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                + "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                + "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
        )
        let request = try signer.canonicalRequest(
            method: "GET", url: unsigned, headers: [], payloadHash: SigV4.unsignedPayload
        )
        #expect(
            request.text == """
                GET
                /test.txt
                X-Amz-Algorithm=AWS4-HMAC-SHA256\
                &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
                &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host
                host:examplebucket.s3.amazonaws.com

                host
                UNSIGNED-PAYLOAD
                """
        )
        #expect(
            signer.stringToSign(canonicalRequest: request, date: date) == """
                AWS4-HMAC-SHA256
                20130524T000000Z
                20130524/us-east-1/s3/aws4_request
                3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04
                """
        )
    }

    @Test("Signing key derivation (general SigV4 documentation, IAM example)")
    func signingKeyDerivation() {
        let iam = SigV4Signer(
            credentials: AWSCredentials(
                accessKeyID: "AKIDEXAMPLE",
                secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
            ),
            region: "us-east-1",
            service: "iam"
        )
        // 2012-02-15T00:00:00Z
        let key = iam.signingKey(date: Date(timeIntervalSince1970: 1_329_264_000))
        #expect(key.hexString == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d")
    }

    @Test("The signing key depends on the day, not on the time of day")
    func signingKeyPerDay() {
        let morning = signer.signingKey(date: date)
        let evening = signer.signingKey(date: date.addingTimeInterval(86_399))
        let nextDay = signer.signingKey(date: date.addingTimeInterval(86_400))
        #expect(morning == evening)
        #expect(morning != nextDay)
        #expect(morning.count == 32)
    }

    @Test("Credential scope names the day, region and service")
    func credentialScope() {
        #expect(signer.credentialScope(date: date) == "20130524/us-east-1/s3/aws4_request")
        let other = SigV4Signer(credentials: Fixtures.credentials, region: "eu-west-3", service: "sts")
        #expect(other.credentialScope(date: Fixtures.leapDate) == "20240229/eu-west-3/sts/aws4_request")
    }
}
