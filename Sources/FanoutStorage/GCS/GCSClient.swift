import Foundation
public import FanoutHTTP
public import Logging

/// A client for Cloud Storage's JSON API: listing, reads, multipart and resumable uploads, deletes, over
/// ``HTTPClient`` with a bearer token from ``GoogleCredentials``.
///
/// Works with Cloud Storage and with emulators (`STORAGE_EMULATOR_HOST`, ``GCSConfiguration/endpoint``). Failures
/// are thrown as ``ObjectStoreError``s that carry Cloud Storage's reason and a hint a person can act on.
public final class GCSClient: Sendable {
    public let configuration: GCSConfiguration
    let http: HTTPClient
    let logger: Logger

    public init(
        configuration: GCSConfiguration = .fromEnvironment(),
        httpClient: HTTPClient = .shared,
        logger: Logger = HTTPClient.noLogger
    ) {
        self.configuration = configuration
        self.http = httpClient
        self.logger = logger
    }

    /// The store of one bucket.
    public func store(bucket: String) -> GCSObjectStore { GCSObjectStore(client: self, bucket: bucket) }

    // MARK: Requests

    /// A URL under the endpoint: `path` is already encoded, `query` is encoded here, in the order given.
    func url(_ path: String, query: [(String, String?)] = []) -> URL {
        var base = configuration.endpoint.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        var text = base + path
        let pairs = query.compactMap { name, value in value.map { "\(name)=\(Self.encode($0))" } }
        if !pairs.isEmpty { text += "?" + pairs.joined(separator: "&") }
        return URL(string: text)!
    }

    /// The JSON API path of a bucket's objects, or of one object.
    func objectsPath(bucket: String, key: String? = nil, upload: Bool = false) -> String {
        (upload ? "/upload" : "") + "/storage/v1/b/\(Self.encode(bucket))/o" + (key.map { "/" + Self.encode($0) } ?? "")
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters, `/` included, as object names in paths
    /// and query values need.
    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    private static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// The request with the current bearer token; each attempt asks afresh, so a refreshed token is used.
    private func authorized(_ request: HTTPRequest) async throws -> HTTPRequest {
        guard case .google(let credentials) = configuration.credentials else { return request }
        var copy = request
        copy.headers.replaceOrAdd(name: "Authorization", value: "Bearer " + (try await credentials.accessToken()))
        return copy
    }

    /// Runs attempts through the HTTP client's one retry loop; a transport failure that outlasted the retries
    /// becomes an ``ObjectStoreError`` that names the endpoint.
    private func retrying<Value: Sendable>(
        _ request: HTTPRequest,
        _ attempt: (_ number: Int, _ remaining: Duration?) async throws -> AttemptOutcome<Value>
    ) async throws -> Value {
        do {
            return try await http.withRetries(request, logger: logger, attempt)
        } catch let error as HTTPClientError {
            throw ObjectStoreError(
                code: .transport, message: "Cloud Storage request failed: \(error.description)",
                hint: "Is the endpoint \(configuration.endpoint.absoluteString) right and up?", underlying: error)
        }
    }

    /// Sends a request, retried as ``HTTPClient/Configuration/retry`` allows until its headers arrive; the body
    /// streams and a non-2xx status is returned, not thrown.
    func execute(_ method: HTTPMethod, url: URL, headers: HTTPHeaders = [:]) async throws -> HTTPResponse {
        let request = HTTPRequest(method: method, url: url, headers: headers)
        let retryable = http.configuration.retry.retryableStatuses
        return try await retrying(request) { attempt, remaining in
            let response: HTTPResponse
            do {
                response = try await http.executeOnce(authorized(request), timeout: remaining, attempt: attempt)
            } catch let error as HTTPClientError where error.isTransient {
                return .transientFailure(error)
            }
            guard retryable.contains(response.status) else { return .success(response) }
            response.body.discard()
            return .retryableAnswer(
                response, status: response.status,
                retryAfter: RetryPolicy.parseRetryAfter(response.headers["Retry-After"]))
        }
    }

    /// Sends a request and collects its body, throwing Cloud Storage's error for a status outside `accepted`
    /// (default: 2xx). An attempt lasts until the whole body is in.
    func send(
        _ method: HTTPMethod,
        url: URL,
        headers: HTTPHeaders = [:],
        body: Data? = nil,
        bucket: String,
        key: String? = nil,
        accepted: Set<Int> = Set(200..<300),
        maxBodyBytes: Int = 64 << 20
    ) async throws -> HTTPFullResponse {
        let request = HTTPRequest(method: method, url: url, headers: headers, body: body.map { .bytes($0) } ?? .empty)
        let retryable = http.configuration.retry.retryableStatuses
        let full: HTTPFullResponse = try await retrying(request) { attempt, remaining in
            let data: Data
            let response: HTTPResponse
            do {
                response = try await http.executeOnce(authorized(request), timeout: remaining, attempt: attempt)
                data = try await response.body.collect(upTo: response.isSuccess ? maxBodyBytes : 1 << 20)
            } catch let error as HTTPClientError where error.isTransient {
                return .transientFailure(error)
            } catch let error as HTTPClientError where error.code != .cancelled {
                var failure = ObjectStoreError(
                    code: .transport, message: "reading the response failed", bucket: bucket, key: key,
                    underlying: error)
                failure.scheme = Self.scheme
                throw failure
            }
            let full = HTTPFullResponse(
                status: response.status, headers: response.headers, body: data, attempts: attempt)
            guard retryable.contains(full.status) else { return .success(full) }
            return .retryableAnswer(
                full, status: full.status, retryAfter: RetryPolicy.parseRetryAfter(full.headers["Retry-After"]))
        }
        guard accepted.contains(full.status) else {
            var error = GCSErrorResponse.error(status: full.status, body: full.body, bucket: bucket, key: key)
            if retryable.contains(full.status) {
                let host = url.host ?? "the endpoint"
                error.message += " (\(host) answered \(full.status) to all \(full.attempts) attempts)"
            }
            throw error
        }
        return full
    }
}
