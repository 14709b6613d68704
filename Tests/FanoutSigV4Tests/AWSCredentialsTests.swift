import FanoutSigV4
import Foundation
import Testing

@Suite("AWS credentials")
struct AWSCredentialsTests {
    let credentials = AWSCredentials(
        accessKeyID: "AKIAIOSFODNN7EXAMPLE",
        secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        sessionToken: "session-token-SECRET",
        expiration: Date(timeIntervalSince1970: 1_369_353_600)
    )

    @Test("No printed form shows the secret or the session token")
    func redaction() {
        var dumped = ""
        dump(credentials, to: &dumped)
        let renderings = [
            credentials.description, credentials.debugDescription, "\(credentials)", String(reflecting: credentials),
            dumped, "\([credentials])",
        ]
        for text in renderings {
            #expect(!text.contains("wJalrXUtnFEMI"), "secret printed in: \(text)")
            #expect(!text.contains("session-token-SECRET"), "session token printed in: \(text)")
            #expect(text.contains("AKIAIOSFODNN7EXAMPLE"))
        }
        #expect(
            credentials.description
                == "AWSCredentials(accessKeyID: AKIAIOSFODNN7EXAMPLE, secretAccessKey: <redacted>, "
                + "sessionToken: <redacted>, expiration: 2013-05-24T00:00:00Z)"
        )
    }

    @Test("Long-term keys print without a session token or expiry")
    func longTermDescription() {
        let plain = AWSCredentials(accessKeyID: "AKID", secretAccessKey: "secret")
        #expect(plain.description == "AWSCredentials(accessKeyID: AKID, secretAccessKey: <redacted>)")
        #expect(plain.sessionToken == nil)
        #expect(plain.expiration == nil)
    }

    @Test("Equality covers every field")
    func equality() {
        var other = credentials
        #expect(other == credentials)
        other.sessionToken = "another"
        #expect(other != credentials)
        #expect(Set([credentials, other, credentials]).count == 2)
    }
}
