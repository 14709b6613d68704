import FanoutHTTP
import Foundation

/// Tokens from the metadata server of a Compute Engine VM or a GKE pod (Workload Identity): the default service
/// account's token, at `GCE_METADATA_HOST` when set, else `metadata.google.internal`.
struct GoogleMetadataCredentialProvider: GoogleCredentialProvider {
    let host: String
    let http: HTTPClient
    var now: @Sendable () -> Date = { Date() }

    init(environment: [String: String], http: HTTPClient) {
        self.host = environment["GCE_METADATA_HOST"].flatMap { $0.isEmpty ? nil : $0 } ?? "metadata.google.internal"
        self.http = http
    }

    func fetchToken() async throws -> GoogleAccessToken {
        let url = URL(string: "http://\(host)/computeMetadata/v1/instance/service-accounts/default/token")!
        let request = HTTPRequest(method: .get, url: url, headers: ["Metadata-Flavor": "Google"])
        let response = try await http.credentialRequest(
            request, timeout: .seconds(5), logger: HTTPClient.noLogger, failure: .noCredentials,
            unreachable: "no Google credentials found: GOOGLE_APPLICATION_CREDENTIALS is not set, gcloud has no "
                + "application default credentials, and the metadata server (\(host)) cannot be reached. Run "
                + "`gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS to a service-account "
                + "key, or on GKE bind the pod's Kubernetes service account to a Google service account")
        guard response.isSuccess else {
            throw CredentialError(
                code: .metadataRequestFailed,
                message: "the metadata server \(host) gave no token (\(response.status)): on GKE, check that the "
                    + "pod's Kubernetes service account is bound to a Google service account (Workload Identity)")
        }
        return try response.credentialAnswer(
            GoogleAccessToken.Answer.self, otherwise: "the metadata server \(host) answered without a token"
        ).token(receivedAt: now())
    }

    /// The default service account's email, which `signBlob` signs as.
    func serviceAccountEmail() async throws -> String? {
        let url = URL(string: "http://\(host)/computeMetadata/v1/instance/service-accounts/default/email")!
        let response = try await http.credentialRequest(
            HTTPRequest(method: .get, url: url, headers: ["Metadata-Flavor": "Google"]), timeout: .seconds(5),
            logger: HTTPClient.noLogger, failure: .metadataRequestFailed,
            unreachable: "cannot reach the metadata server \(host) for the service account's email")
        guard response.isSuccess, !response.body.isEmpty else {
            throw CredentialError(
                code: .metadataRequestFailed,
                message: "the metadata server \(host) named no service account (\(response.status))")
        }
        return response.bodyText.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
