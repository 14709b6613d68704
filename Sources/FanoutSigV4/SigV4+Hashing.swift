import Crypto
public import Foundation

extension SigV4 {
    /// The lowercase hex SHA-256 of `data`, the form a payload hash takes in a signed request.
    ///
    /// Use the result as the `payloadHash` of ``SigV4Signer/signHeaders(method:url:headers:payloadHash:date:)``.
    public static func sha256Hex(_ data: some DataProtocol) -> String {
        hex(SHA256.hash(data: data))
    }

    /// The lowercase hex SHA-256 of the UTF-8 bytes of `string`.
    public static func sha256Hex(_ string: String) -> String {
        sha256Hex(Data(string.utf8))
    }

    /// HMAC-SHA256 of `message` keyed by `key`, as raw bytes (one link of the signing-key chain).
    static func hmacSHA256(key: some ContiguousBytes, message: String) -> Data {
        let code = HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: SymmetricKey(data: key))
        return Data(code)
    }

    /// Lowercase hexadecimal digits of `bytes`.
    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `value` is a payload hash S3 understands: 64 lowercase hex digits, `UNSIGNED-PAYLOAD`,
    /// or one of the `STREAMING-` markers of chunked uploads.
    static func isValidPayloadHash(_ value: String) -> Bool {
        if value == unsignedPayload || value.hasPrefix("STREAMING-") {
            return true
        }
        let utf8 = value.utf8
        return utf8.count == 64
            && utf8.allSatisfy {
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                    || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0)
            }
    }
}
