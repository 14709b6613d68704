import Crypto
import _CryptoExtras
import Foundation

/// A service-account key file's fields, and the signed JWT (RS256) that is exchanged for a token at its `token_uri`.
struct ServiceAccountKey: Decodable, Sendable {
    var client_email: String
    var private_key: String
    var private_key_id: String?
    var token_uri: String?

    /// Google's OAuth 2.0 token endpoint, for keys without a `token_uri`.
    static let defaultTokenURI = "https://oauth2.googleapis.com/token"

    /// The scope of the tokens asked for: all of Cloud Storage's operations (and nothing else the key may grant).
    static let scope = "https://www.googleapis.com/auth/devstorage.full_control"

    var tokenURI: String { token_uri ?? Self.defaultTokenURI }

    /// The JWT-bearer assertion for a token: `{"iss": email, "scope": ..., "aud": token_uri, "iat", "exp"}`, valid
    /// for an hour from `now`, signed with the key (RSASSA-PKCS1-v1_5 with SHA-256).
    func assertion(now: Date) throws -> String {
        let issued = Int(now.timeIntervalSince1970)
        var header: [String: Any] = ["alg": "RS256", "typ": "JWT"]
        if let private_key_id { header["kid"] = private_key_id }
        let claims: [String: Any] = [
            "iss": client_email, "scope": Self.scope, "aud": tokenURI, "iat": issued, "exp": issued + 3600,
        ]
        let signingInput = try Self.base64URL(JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
            + "." + Self.base64URL(JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys]))
        let signature = try sign(Data(signingInput.utf8))
        return signingInput + "." + Self.base64URL(signature)
    }

    /// `data` signed with the key: RSASSA-PKCS1-v1_5 over its SHA-256.
    func sign(_ data: Data) throws -> Data {
        let key = try _RSA.Signing.PrivateKey(unsafePEMRepresentation: private_key)
        return try key.signature(for: data, padding: .insecurePKCS1v1_5).rawRepresentation
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
