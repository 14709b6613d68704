public import Foundation

extension GCSClient {
    /// A V4 signed URL that grants `method` on the object without credentials until `expires` has passed (at most
    /// 7 days), signed with the service-account key of the credentials, or by the IAM Credentials API as the
    /// metadata server's service account (on GCE, and GKE with Workload Identity; it needs
    /// `roles/iam.serviceAccountTokenCreator` on itself).
    ///
    /// - Throws: ``ObjectStoreError`` with code ``ObjectStoreError/Code/invalidArgument`` when the credentials
    ///   cannot sign (a gcloud user, none) or the expiry is out of range; ``CredentialError`` when `signBlob` refuses.
    public func signedURL(bucket: String, key: String, method: PresignMethod, expires: Duration) async throws -> URL {
        try await signedURL(bucket: bucket, key: key, method: method, expires: expires, date: Date())
    }

    func signedURL(
        bucket: String, key: String, method: PresignMethod, expires: Duration, date: Date
    ) async throws -> URL {
        let seconds = Int(expires.components.seconds)
        guard (1...604_800).contains(seconds) else {
            throw failure("a signed URL must expire within 1 second to 7 days, not \(seconds) s", bucket, key)
        }
        guard case .google(let credentials) = configuration.credentials, let signer = try await credentials.signer()
        else {
            throw failure(
                "signing a gs:// URL needs a service account, and these credentials have none", bucket, key,
                hint: "Set GOOGLE_APPLICATION_CREDENTIALS to the key of a service account that may read the object.")
        }
        let request = GCSURLSigner.Request(
            endpoint: configuration.endpoint, bucket: bucket, key: key, method: method.rawValue,
            expiresSeconds: seconds, date: date, email: signer.email)
        do {
            return try await GCSURLSigner.signedURL(request) { try await signer.sign($0) }
        } catch let error as CredentialError {
            throw error
        } catch {
            throw failure("the service-account key of \(signer.email) cannot sign", bucket, key)
        }
    }

    private func failure(_ message: String, _ bucket: String, _ key: String, hint: String? = nil) -> ObjectStoreError {
        var error = ObjectStoreError(code: .invalidArgument, message: message, hint: hint, bucket: bucket, key: key)
        error.scheme = Self.scheme
        return error
    }
}
