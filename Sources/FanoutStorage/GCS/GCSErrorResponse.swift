import Foundation

/// Cloud Storage's JSON error body (`{"error": {"code": 404, "message": "...", "errors": [{"reason": "notFound"}]}}`)
/// made into an ``ObjectStoreError`` with a hint.
enum GCSErrorResponse {
    private struct Body: Decodable {
        struct Detail: Decodable {
            var code: Int?
            var message: String?
            var errors: [Reason]?
        }
        struct Reason: Decodable {
            var reason: String?
        }
        var error: Detail
    }

    /// The error for a response with `status` and `body`; `key` is `nil` for requests about the bucket (a listing).
    static func error(status: Int, body: Data, bucket: String, key: String?) -> ObjectStoreError {
        let detail = (try? JSONDecoder().decode(Body.self, from: body))?.error
        let serverMessage = detail?.message ?? String(decoding: body.prefix(200), as: UTF8.self)
        let reason = detail?.errors?.first?.reason ?? "\(status)"
        let (code, message, hint) = describe(status: status, serverMessage: serverMessage, bucket: bucket, key: key)
        var error = ObjectStoreError(
            code: code, message: message, hint: hint, serverCode: reason, status: status, bucket: bucket, key: key)
        error.scheme = "gs"
        return error
    }

    private static func describe(
        status: Int, serverMessage: String, bucket: String, key: String?
    ) -> (ObjectStoreError.Code, String, String?) {
        switch status {
        case 401:
            return (.invalidCredentials, "Cloud Storage rejected the credentials: \(serverMessage)",
                "Run `gcloud auth application-default login`, or point GOOGLE_APPLICATION_CREDENTIALS at a valid "
                    + "service-account key; on GKE, bind the pod's Kubernetes service account to a Google service "
                    + "account (Workload Identity).")
        case 403:
            return (.accessDenied, "the credentials may not do this on bucket \(bucket): \(serverMessage)",
                "Grant the account roles/storage.objectViewer on the bucket to read it, roles/storage.objectAdmin "
                    + "to write state there (gcloud storage buckets add-iam-policy-binding gs://\(bucket) ...).")
        case 404 where key == nil || serverMessage.localizedCaseInsensitiveContains("bucket"):
            return (.noSuchBucket, "no such bucket", "The bucket does not exist: check its name, or create it first.")
        case 404:
            return (.notFound, "no such object", nil)
        case 409, 412:
            return (.preconditionFailed, "the object is not the version the request required", nil)
        case 400, 411, 416:
            return (.invalidArgument, "Cloud Storage refused the request: \(serverMessage)", nil)
        case 429:
            return (.throttled, "Cloud Storage kept asking to slow down", "Lower the concurrency, or try again later.")
        default:
            return (.server, "Cloud Storage answered \(status): \(serverMessage)", nil)
        }
    }
}
