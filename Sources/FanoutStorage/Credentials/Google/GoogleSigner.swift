public import Foundation

/// Signs bytes as a service account, for V4 signed URLs: RSASSA-PKCS1-v1_5 with SHA-256, with a key here or
/// through the IAM Credentials API (`signBlob`).
public struct GoogleSigner: Sendable {
    /// The service account's email, which names the signer in the URL's credential.
    public let email: String
    private let signBytes: @Sendable (Data) async throws -> Data

    public init(email: String, sign: @escaping @Sendable (Data) async throws -> Data) {
        self.email = email
        self.signBytes = sign
    }

    /// The signature of `data`.
    public func sign(_ data: Data) async throws -> Data { try await signBytes(data) }
}
