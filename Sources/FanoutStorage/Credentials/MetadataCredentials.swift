import FanoutSigV4
import Foundation

/// The JSON credentials document that the container credentials endpoint and the instance metadata service answer:
/// `AccessKeyId`, `SecretAccessKey`, `Token` and `Expiration` (ISO 8601).
struct MetadataCredentials: Decodable {
    let accessKeyId: String
    let secretAccessKey: String
    let token: String?
    let expiration: String?

    enum CodingKeys: String, CodingKey {
        case accessKeyId = "AccessKeyId"
        case secretAccessKey = "SecretAccessKey"
        case token = "Token"
        case expiration = "Expiration"
    }

    /// Parses a document; `source` names the endpoint in errors.
    ///
    /// - Throws: ``CredentialError/Code/invalidMetadataResponse`` when the body is not such a document.
    static func parse(_ body: Data, source: String) throws -> AWSCredentials {
        let document: MetadataCredentials
        do {
            document = try JSONDecoder().decode(MetadataCredentials.self, from: body)
        } catch {
            throw CredentialError(
                code: .invalidMetadataResponse,
                message: "\(source) answered without a credentials document (AccessKeyId, SecretAccessKey, Token, "
                    + "Expiration): check that the URL is a credentials endpoint",
                underlyingError: error)
        }
        let expiration = try document.expiration.map { text in
            guard let date = WebIdentityCredentialProvider.parseTimestamp(text) else {
                throw CredentialError(
                    code: .invalidMetadataResponse,
                    message: "\(source) sent an Expiration that is not an ISO 8601 time: '\(text)'")
            }
            return date
        }
        return AWSCredentials(
            accessKeyID: document.accessKeyId, secretAccessKey: document.secretAccessKey,
            sessionToken: document.token.flatMap { $0.isEmpty ? nil : $0 }, expiration: expiration)
    }
}
