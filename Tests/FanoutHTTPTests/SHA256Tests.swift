import Foundation
import Testing

/// The tests' own SHA-256 must be right for body comparisons to mean anything.
@Suite struct SHA256Tests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
    ])
    func knownDigests(input: String, digest: String) {
        #expect(SHA256.hex(Data(input.utf8)) == digest)
    }

    @Test func incrementalUpdatesMatchOneShot() {
        let data = testBytes(count: 10_000)
        var hasher = SHA256()
        var offset = 0
        for size in [1, 63, 64, 65, 1000, 8807] {
            hasher.update(data.subdata(in: offset..<offset + size))
            offset += size
        }
        #expect(hasher.finalize() == SHA256.hex(data))
    }
}
