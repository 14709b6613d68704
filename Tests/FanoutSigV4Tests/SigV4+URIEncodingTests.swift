import FanoutSigV4
import Testing

@Suite("URI encoding")
struct SigV4URIEncodingTests {
    @Test("Unreserved characters are kept")
    func unreserved() {
        let unreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
        #expect(SigV4.uriEncode(unreserved) == unreserved)
    }

    @Test(
        "Everything else becomes %XY with uppercase hex",
        arguments: [
            (" ", "%20"), ("+", "%2B"), ("=", "%3D"), ("&", "%26"), ("/", "%2F"), ("%", "%25"), ("*", "%2A"),
            ("$", "%24"), ("!", "%21"), ("'", "%27"), ("(", "%28"), (")", "%29"), (":", "%3A"), ("@", "%40"),
            ("?", "%3F"), ("#", "%23"), ("\n", "%0A"), ("é", "%C3%A9"), ("日本", "%E6%97%A5%E6%9C%AC"),
            ("🙂", "%F0%9F%99%82"),
        ]
    )
    func reserved(raw: String, encoded: String) {
        #expect(SigV4.uriEncode(raw) == encoded)
    }

    @Test("A slash is kept only when asked, for object keys used as paths")
    func slash() {
        let key = "données/sub dir/a+b=c~.txt"
        #expect(SigV4.uriEncode(key, encodeSlash: false) == "donn%C3%A9es/sub%20dir/a%2Bb%3Dc~.txt")
        #expect(SigV4.uriEncode(key) == "donn%C3%A9es%2Fsub%20dir%2Fa%2Bb%3Dc~.txt")
        #expect(SigV4.uriEncode(key[...], encodeSlash: false) == SigV4.uriEncode(key, encodeSlash: false))
    }

    @Test("Decomposed and precomposed accents are different keys and encode differently")
    func unicodeNormalizationIsPreserved() {
        let precomposed = "\u{E9}"
        let decomposed = "e\u{301}"
        #expect(SigV4.uriEncode(precomposed) == "%C3%A9")
        #expect(SigV4.uriEncode(decomposed) == "e%CC%81")
    }
}
