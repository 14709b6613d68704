public import FanoutHTTP
public import Foundation
public import Logging

/// Application Default Credentials, found as Google's client libraries find them, on first use:
/// 1. the key file `GOOGLE_APPLICATION_CREDENTIALS` names (a service-account key, or a gcloud user's credentials);
/// 2. gcloud's `application_default_credentials.json` (in `CLOUDSDK_CONFIG`, else `~/.config/gcloud`), written by
///    `gcloud auth application-default login`;
/// 3. the metadata server (`GCE_METADATA_HOST`, else `metadata.google.internal`): a VM's service account, or a GKE
///    pod's through Workload Identity.
public struct ApplicationDefaultCredentials: GoogleCredentialProvider {
    let environment: [String: String]
    let http: HTTPClient
    let logger: Logger

    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        httpClient: HTTPClient = .shared,
        logger: Logger = CredentialProviderChain.noLogger
    ) {
        self.environment = environment
        self.http = httpClient
        self.logger = logger
    }

    public func fetchToken() async throws -> GoogleAccessToken {
        try await resolve().fetchToken()
    }

    public func signer() async throws -> GoogleSigner? {
        try await resolve().signer()
    }

    public func serviceAccountEmail() async throws -> String? {
        try await resolve().serviceAccountEmail()
    }

    /// The provider the environment selects.
    /// - Throws: ``CredentialError`` for a key file that is missing, unreadable or of a type not supported.
    public func resolve() async throws -> any GoogleCredentialProvider {
        if let path = environment["GOOGLE_APPLICATION_CREDENTIALS"], !path.isEmpty {
            logger.debug("Google credentials from GOOGLE_APPLICATION_CREDENTIALS", metadata: ["path": "\(path)"])
            return try GoogleKeyFile.provider(path: path, http: http, origin: "GOOGLE_APPLICATION_CREDENTIALS")
        }
        let gcloud = wellKnownFile
        if FileManager.default.fileExists(atPath: gcloud) {
            logger.debug("Google credentials from gcloud", metadata: ["path": "\(gcloud)"])
            return try GoogleKeyFile.provider(path: gcloud, http: http, origin: "gcloud's application default file")
        }
        logger.debug("Google credentials from the metadata server")
        return GoogleMetadataCredentialProvider(environment: environment, http: http)
    }

    /// gcloud's `application_default_credentials.json`.
    var wellKnownFile: String {
        let folder = environment["CLOUDSDK_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.config/gcloud"
        return folder + "/application_default_credentials.json"
    }
}

extension GoogleCredentials {
    /// Application Default Credentials (``ApplicationDefaultCredentials``), resolved on first use.
    public static func applicationDefault(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        httpClient: HTTPClient = .shared
    ) -> GoogleCredentials {
        GoogleCredentials(
            provider: ApplicationDefaultCredentials(environment: environment, httpClient: httpClient),
            httpClient: httpClient)
    }
}
