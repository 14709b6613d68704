import Foundation
public import Logging

/// An HTTP/1.1 and HTTP/2 client over libcurl, with async/await, streaming bodies and retries.
///
/// One dedicated thread per client drives libcurl's multi interface, so no request ever blocks a thread of
/// Swift's cooperative pool, and connections are reused across requests (HTTP/2 streams are multiplexed on one
/// connection). A client lives until it is deinitialised; responses keep it alive while their bodies are read.
///
/// ```swift
/// let client = HTTPClient()
/// let response = try await client.send(HTTPRequest(url: URL(string: "http://127.0.0.1:9000/")!))
/// print(response.status, response.bodyText)
/// ```
public final class HTTPClient: Sendable {
    public let configuration: Configuration
    let loop: CurlMultiLoop
    /// Endpoints whose outage outlasted a retry budget; see ``withRetries(_:timeout:logger:_:)``.
    let health = EndpointHealth()
    /// The request rate of each endpoint, shared by all requests in ``RetryPolicy/Mode/adaptive``.
    let rates = EndpointRates()

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
        self.loop = CurlMultiLoop(maxConnectionsPerHost: configuration.maxConnectionsPerHost)
    }

    deinit {
        loop.shutdown()
    }

    /// A process-wide client configured from this process's environment (``Configuration/fromEnvironment(_:)``).
    public static let shared = HTTPClient(configuration: .fromEnvironment())

    /// A logger that discards everything, the default for calls given none.
    public static let noLogger = Logger(label: "fanout.http", factory: { _ in SwiftLogNoOpLogHandler() })
}
