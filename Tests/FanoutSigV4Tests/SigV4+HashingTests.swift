import FanoutSigV4
import Foundation
import Testing

@Suite("Hashing")
struct SigV4HashingTests {
    @Test("The empty payload hash is the SHA-256 of no bytes")
    func emptyPayload() {
        #expect(SigV4.sha256Hex(Data()) == SigV4.emptyPayloadHash)
        #expect(SigV4.sha256Hex("") == SigV4.emptyPayloadHash)
        #expect(SigV4.emptyPayloadHash == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test("SHA-256 test vectors, as lowercase hex")
    func vectors() {
        #expect(SigV4.sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SigV4.sha256Hex(Data("Welcome to Amazon S3.".utf8))
                == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
        )
        #expect(
            SigV4.sha256Hex([UInt8](repeating: 0, count: 32))
                == "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"
        )
    }
}
