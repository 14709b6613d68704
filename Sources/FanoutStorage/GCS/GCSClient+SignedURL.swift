public import Foundation

extension GCSClient {
    /// A URL that grants `method` on the object without credentials until `expires` has passed.
    ///
    /// - Throws: ``ObjectStoreError`` with code ``ObjectStoreError/Code/invalidArgument``: signing V4 URLs for
    ///   `gs://` is not supported yet.
    public func signedURL(bucket: String, key: String, method: PresignMethod, expires: Duration) async throws -> URL {
        var error = ObjectStoreError(
            code: .invalidArgument, message: "signed URLs for gs:// objects are not supported yet",
            hint: "Keep the state of Kubernetes runs on s3:// (--state s3://BUCKET/PREFIX/), or share files with "
                + "`gcloud storage sign-url`.",
            bucket: bucket, key: key)
        error.scheme = Self.scheme
        throw error
    }
}
