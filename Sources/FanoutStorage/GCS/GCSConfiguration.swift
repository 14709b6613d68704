public import Foundation

/// How a ``GCSClient`` reaches Cloud Storage.
public struct GCSConfiguration: Sendable {
    /// How requests are authorized.
    public enum Credentials: Sendable {
        /// No `Authorization` header: public buckets, and emulators.
        case anonymous
        /// A bearer token from ``GoogleCredentials`` (Application Default Credentials, or a provider of its own).
        case google(GoogleCredentials)
    }

    /// The JSON API's root. Default `https://storage.googleapis.com`; `STORAGE_EMULATOR_HOST` when set.
    public var endpoint: URL
    /// Default: Application Default Credentials; anonymous when `STORAGE_EMULATOR_HOST` is set, as Google's client
    /// libraries do.
    public var credentials: Credentials
    /// Files larger than this are uploaded by a resumable upload, in ``chunkSize`` pieces; smaller ones and bytes
    /// in memory in one multipart request. Default 8 MiB.
    public var resumableThreshold: Int
    /// The size of each piece of a resumable upload; a multiple of 256 KiB. Default 8 MiB.
    public var chunkSize: Int

    public init(
        endpoint: URL = GCSConfiguration.defaultEndpoint,
        credentials: Credentials = .anonymous,
        resumableThreshold: Int = 8 << 20,
        chunkSize: Int = 8 << 20
    ) {
        self.endpoint = endpoint
        self.credentials = credentials
        self.resumableThreshold = resumableThreshold
        self.chunkSize = chunkSize
    }

    /// Cloud Storage itself.
    public static let defaultEndpoint = URL(string: "https://storage.googleapis.com")!

    /// The configuration Google's client libraries would use: `STORAGE_EMULATOR_HOST` (`host:port` or a URL) with
    /// no credentials, else Cloud Storage with Application Default Credentials
    /// (``GoogleCredentials/applicationDefault(environment:httpClient:)``).
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> GCSConfiguration {
        if let emulator = environment["STORAGE_EMULATOR_HOST"], !emulator.isEmpty {
            let text = emulator.contains("://") ? emulator : "http://" + emulator
            if let url = URL(string: text) { return GCSConfiguration(endpoint: url, credentials: .anonymous) }
        }
        return GCSConfiguration(credentials: .google(.applicationDefault(environment: environment)))
    }
}
