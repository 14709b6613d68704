import Crypto
import Foundation

/// Cloud Storage's V4 signed URLs (`GOOG4-RSA-SHA256`), as pure functions named after the steps of Google's
/// documentation: canonical request, string to sign, signed URL. The date is always a parameter.
enum GCSURLSigner {
    /// The parts of one URL to sign.
    struct Request {
        var endpoint: URL
        var bucket: String
        var key: String
        var method: String
        var expiresSeconds: Int
        var date: Date
        var email: String

        /// `/BUCKET/KEY`, the key encoded but for `/` and `~` (as google-cloud-storage quotes it).
        var resource: String { "/\(bucket)/" + GCSURLSigner.quote(key, safe: "/~") }

        /// `host[:port]` of the endpoint.
        var host: String { (endpoint.host ?? "") + (endpoint.port.map { ":\($0)" } ?? "") }

        var timestamp: String { GCSURLSigner.format(date, "yyyyMMdd'T'HHmmss'Z'") }
        var scope: String { GCSURLSigner.format(date, "yyyyMMdd") + "/auto/storage/goog4_request" }

        /// The signing parameters, encoded, sorted as encoded.
        var canonicalQuery: String {
            [
                ("X-Goog-Algorithm", "GOOG4-RSA-SHA256"), ("X-Goog-Credential", "\(email)/\(scope)"),
                ("X-Goog-Date", timestamp), ("X-Goog-Expires", String(expiresSeconds)),
                ("X-Goog-SignedHeaders", "host"),
            ].map { "\(GCSURLSigner.quote($0, safe: "~"))=\(GCSURLSigner.quote($1, safe: "~"))" }.sorted()
                .joined(separator: "&")
        }
    }

    /// Method, resource, query, the `host` header, the signed header names, and an unsigned payload.
    static func canonicalRequest(_ request: Request) -> String {
        [request.method, request.resource, request.canonicalQuery, "host:\(request.host)\n", "host", "UNSIGNED-PAYLOAD"]
            .joined(separator: "\n")
    }

    /// The algorithm, the time, the scope and the canonical request's SHA-256 in hex.
    static func stringToSign(_ request: Request) -> String {
        let hash = SHA256.hash(data: Data(canonicalRequest(request).utf8)).map { String(format: "%02x", $0) }.joined()
        return ["GOOG4-RSA-SHA256", request.timestamp, request.scope, hash].joined(separator: "\n")
    }

    /// The URL: endpoint, resource, canonical query and the signature in hex.
    static func signedURL(_ request: Request, sign: (Data) async throws -> Data) async throws -> URL {
        let signature = try await sign(Data(stringToSign(request).utf8)).map { String(format: "%02x", $0) }.joined()
        var base = request.endpoint.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        return URL(string: base + request.resource + "?" + request.canonicalQuery + "&X-Goog-Signature=" + signature)!
    }

    /// Percent-encodes UTF-8 bytes outside letters, digits, `-._` and `safe`, as Python's `urllib.parse.quote`.
    static func quote(_ text: String, safe: String) -> String {
        let letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._"
        let allowed = CharacterSet(charactersIn: letters + safe)
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    private static func format(_ date: Date, _ pattern: String) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = pattern
        return formatter.string(from: date)
    }
}
