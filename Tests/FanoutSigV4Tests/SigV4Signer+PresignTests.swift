import FanoutSigV4
import Foundation
import Testing

@Suite("Presigned URLs")
struct SigV4SignerPresignTests {
    let signer = Fixtures.signer
    let url = Fixtures.url("\(Fixtures.bucket)/test.txt")

    @Test(
        "An expiry outside 1 second to 7 days is rejected",
        arguments: [
            Duration.seconds(604_801), .seconds(8 * 86_400), .zero, .milliseconds(999), .seconds(-60),
        ]
    )
    func rejectsExpiry(_ expires: Duration) {
        let error = #expect(throws: SigV4Error.self) {
            try signer.presignURL(url: url, expires: expires, date: Fixtures.date)
        }
        #expect(error?.code == .invalidExpiration)
        #expect(error?.message.contains("7 days") == true)
    }

    @Test(
        "The limits themselves are accepted, fractions of a second dropped",
        arguments: [Duration.seconds(1), .seconds(604_800), .milliseconds(1_500), .milliseconds(604_800_999)]
    )
    func acceptsExpiryLimits(_ expires: Duration) throws {
        let presigned = try signer.presignURL(url: url, expires: expires, date: Fixtures.date)
        let seconds = expires.components.seconds
        #expect(presigned.queryValue("X-Amz-Expires") == String(seconds))
        #expect(SigV4.maximumPresignedExpiration == .seconds(7 * 24 * 3600))
    }

    @Test("A session token is added as X-Amz-Security-Token and signed")
    func sessionToken() throws {
        let presigned = try Fixtures.temporarySigner.presignURL(url: url, expires: .seconds(3600), date: Fixtures.date)
        let plain = try signer.presignURL(url: url, expires: .seconds(3600), date: Fixtures.date)
        #expect(presigned.queryValue("X-Amz-Security-Token") == Fixtures.sessionToken)
        #expect(
            presigned.query(percentEncoded: true)?.contains(
                "X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE%2F%2Ftoken%2Bwith%2Fslashes%3D%3D&"
            ) == true
        )
        #expect(plain.queryValue("X-Amz-Security-Token") == nil)
        #expect(presigned.queryValue("X-Amz-Signature") != plain.queryValue("X-Amz-Signature"))
    }

    @Test("The method defaults to GET and is part of the signature")
    func method() throws {
        let implicit = try signer.presignURL(url: url, expires: .seconds(86_400), date: Fixtures.date)
        let put = try signer.presignURL(method: "PUT", url: url, expires: .seconds(86_400), date: Fixtures.date)
        #expect(
            implicit.queryValue("X-Amz-Signature") == "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        )
        #expect(put.queryValue("X-Amz-Signature") != implicit.queryValue("X-Amz-Signature"))
    }

    @Test("Presigning a presigned URL again replaces its signing parameters")
    func presigningAgain() throws {
        let first = try Fixtures.temporarySigner.presignURL(url: url, expires: .seconds(60), date: Fixtures.leapDate)
        let again = try signer.presignURL(url: first, expires: .seconds(86_400), date: Fixtures.date)
        let direct = try signer.presignURL(url: url, expires: .seconds(86_400), date: Fixtures.date)
        #expect(again == direct)
    }

    @Test("Existing query parameters are kept, re-encoded and sorted before the signature")
    func keepsQuery() throws {
        let withQuery = Fixtures.url(
            "\(Fixtures.bucket)/test.txt?versionId=v+1%3D&response-content-type=text/plain#frag"
        )
        let presigned = try signer.presignURL(url: withQuery, expires: .seconds(60), date: Fixtures.date)
        let query = try #require(presigned.query(percentEncoded: true))
        #expect(query.hasPrefix("X-Amz-Algorithm=AWS4-HMAC-SHA256&"))
        #expect(
            query.contains(
                "&X-Amz-SignedHeaders=host&response-content-type=text%2Fplain&versionId=v%2B1%3D&X-Amz-Signature="
            )
        )
        #expect(presigned.queryValue("versionId") == "v+1=")
        #expect(presigned.fragment == nil)
    }

    @Test("The returned URL's path is the canonical URI")
    func canonicalPath() throws {
        let presigned = try signer.presignURL(
            url: Fixtures.url("\(Fixtures.bucket)/a$b/c(d)!.txt"), expires: .seconds(60), date: Fixtures.date
        )
        #expect(presigned.path(percentEncoded: true) == "/a%24b/c%28d%29%21.txt")
        #expect(presigned.host() == "examplebucket.s3.amazonaws.com")
        #expect(presigned.scheme == "https")
    }
}
