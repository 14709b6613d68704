import Foundation
public import FanoutHTTP
public import Logging
import FanoutSigV4

/// A client for the S3 REST API: listing, reads, writes, multipart uploads, deletes and presigned URLs, signed
/// with Signature Version 4, over ``HTTPClient``.
///
/// Works with AWS and with S3-compatible servers (set ``S3Configuration/endpoint``). Failures are thrown as
/// ``ObjectStoreError``s that carry S3's error code, the request id, and a hint a person can act on.
public final class S3Client: Sendable {
    public let configuration: S3Configuration
    let http: HTTPClient
    let logger: Logger
    private let credentialCache: ExpiringCredentials?

    public init(
        configuration: S3Configuration = .fromEnvironment(),
        httpClient: HTTPClient = .shared,
        logger: Logger = HTTPClient.noLogger
    ) {
        self.configuration = configuration
        self.http = httpClient
        self.logger = logger
        switch configuration.credentials {
        case .chain(let provider): credentialCache = ExpiringCredentials(provider: provider, logger: logger)
        case .refreshing(let holder): credentialCache = holder
        case .anonymous: credentialCache = nil
        }
    }

    /// A client for the store a bucket lives in.
    public func store(bucket: String) -> S3ObjectStore { S3ObjectStore(client: self, bucket: bucket) }

    // MARK: Requests

    /// The URL of a bucket or object, with the query given (already in the order to send).
    func url(bucket: String?, key: String? = nil, query: [(String, String?)] = []) -> URL {
        let encodedKey = key.map { SigV4.uriEncode($0, encodeSlash: false) } ?? ""
        var text: String
        if let endpoint = configuration.endpoint {
            var base = endpoint.absoluteString
            while base.hasSuffix("/") { base.removeLast() }
            if let bucket, usesVirtualHost(bucket: bucket), var components = URLComponents(string: base) {
                components.host = "\(bucket).\(components.host ?? "")"
                text = (components.string ?? base) + "/" + encodedKey
            } else if let bucket {
                text = base + "/" + bucket + "/" + encodedKey
            } else {
                text = base + "/"
            }
        } else if let bucket, usesVirtualHost(bucket: bucket) {
            text = "https://\(bucket).s3.\(configuration.region).amazonaws.com/" + encodedKey
        } else {
            text = "https://s3.\(configuration.region).amazonaws.com/" + (bucket.map { $0 + "/" + encodedKey } ?? "")
        }
        if !query.isEmpty {
            text += "?" + query.map { name, value in
                let encodedName = SigV4.uriEncode(name)
                return value.map { "\(encodedName)=\(SigV4.uriEncode($0))" } ?? encodedName
            }.joined(separator: "&")
        }
        return URL(string: text)!
    }

    private func usesVirtualHost(bucket: String) -> Bool {
        switch configuration.addressing {
        case .path: false
        case .virtualHosted: true
        case .automatic: configuration.endpoint == nil && !bucket.contains(".")
        }
    }

    /// The credentials to sign with, or `nil` for anonymous requests.
    func currentCredentials() async throws -> AWSCredentials? {
        guard let credentialCache else { return nil }
        return try await credentialCache.credentials()
    }

    /// Signs a request for sending now; each attempt is signed afresh.
    ///
    /// - Parameter payloadHash: The hex SHA-256 of the body, or `UNSIGNED-PAYLOAD` for bodies streamed from disk.
    private func signed(_ request: HTTPRequest, payloadHash: String?) async throws -> HTTPRequest {
        guard let credentials = try await currentCredentials() else { return request }
        let signer = SigV4Signer(credentials: credentials, region: configuration.region)
        var signedRequest = request
        do {
            let signed = try signer.signHeaders(
                method: request.method.rawValue, url: request.url, headers: request.headers.map { ($0.name, $0.value) },
                payloadHash: payloadHash ?? SigV4.sha256Hex(Data()), date: configuration.now())
            signedRequest.headers = HTTPHeaders(signed.map { ($0.name, $0.value) })
        } catch {
            throw ObjectStoreError(code: .invalidArgument, message: "cannot sign the request", underlying: error)
        }
        return signedRequest
    }

    /// Runs attempts of a request through the HTTP client's one retry loop, turning a transport failure that
    /// outlasted the retries into an ``ObjectStoreError`` that names the endpoint.
    private func retrying<Value: Sendable>(
        _ request: HTTPRequest,
        timeout: Duration?,
        _ attempt: (_ number: Int, _ remaining: Duration?) async throws -> AttemptOutcome<Value>
    ) async throws -> Value {
        do {
            return try await http.withRetries(request, timeout: timeout, logger: logger, attempt)
        } catch let error as HTTPClientError {
            let endpoint = configuration.endpoint?.absoluteString ?? "https://s3.\(configuration.region).amazonaws.com"
            throw ObjectStoreError(
                code: .transport, message: "S3 request failed: \(error.description)",
                hint: "Is the S3 endpoint \(endpoint) right and up?", underlying: error)
        }
    }

    /// Signs and sends a request, retried as ``HTTPClient/Configuration/retry`` allows until its headers arrive;
    /// the response body streams.
    ///
    /// - Parameter payloadHash: The hex SHA-256 of the body, or `UNSIGNED-PAYLOAD` for bodies streamed from disk.
    func execute(
        _ method: HTTPMethod,
        url: URL,
        headers: HTTPHeaders = [:],
        body: HTTPRequestBody = .empty,
        payloadHash: String? = nil,
        timeout: Duration? = nil
    ) async throws -> HTTPResponse {
        let request = HTTPRequest(method: method, url: url, headers: headers, body: body)
        let retryable = http.configuration.retry.retryableStatuses
        return try await retrying(request, timeout: timeout) { attempt, remaining in
            let response: HTTPResponse
            do {
                response = try await http.executeOnce(
                    signed(request, payloadHash: payloadHash), timeout: remaining, attempt: attempt)
            } catch let error as HTTPClientError where error.isTransient && body.isReplayable {
                return .transientFailure(error)
            }
            guard body.isReplayable, retryable.contains(response.status) else { return .success(response) }
            return .retryableAnswer(
                response, status: response.status,
                retryAfter: RetryPolicy.parseRetryAfter(response.headers["Retry-After"]))
        }
    }

    /// Sends a request and collects its body, throwing the server's error for a non-2xx status.
    ///
    /// An attempt lasts until the whole body is in, so a body that breaks off or stalls is requested again within
    /// the same retry budget as a refused connection or a `503 SlowDown`.
    func send(
        _ method: HTTPMethod,
        bucket: String?,
        key: String? = nil,
        query: [(String, String?)] = [],
        headers: HTTPHeaders = [:],
        body: Data? = nil,
        maxBodyBytes: Int = 64 << 20
    ) async throws -> HTTPFullResponse {
        let request = HTTPRequest(
            method: method, url: url(bucket: bucket, key: key, query: query), headers: headers,
            body: body.map { .bytes($0) } ?? .empty)
        let payloadHash = SigV4.sha256Hex(body ?? Data())
        let retryable = http.configuration.retry.retryableStatuses
        let full: HTTPFullResponse = try await retrying(request, timeout: nil) { attempt, remaining in
            let data: Data
            let response: HTTPResponse
            do {
                response = try await http.executeOnce(
                    signed(request, payloadHash: payloadHash), timeout: remaining, attempt: attempt)
                data = try await response.body.collect(upTo: response.isSuccess ? maxBodyBytes : 1 << 20)
            } catch let error as HTTPClientError where error.isTransient {
                return .transientFailure(error)
            } catch let error as HTTPClientError where error.code != .cancelled {
                throw ObjectStoreError(
                    code: .transport, message: "reading the response failed", bucket: bucket, key: key,
                    underlying: error)
            }
            let full = HTTPFullResponse(
                status: response.status, headers: response.headers, body: data, attempts: attempt)
            guard retryable.contains(full.status) else { return .success(full) }
            return .retryableAnswer(
                full, status: full.status, retryAfter: RetryPolicy.parseRetryAfter(full.headers["Retry-After"]))
        }
        guard full.isSuccess else {
            var error = S3ErrorResponse.error(
                status: full.status, headers: full.headers, body: full.body, bucket: bucket, key: key,
                configuredRegion: configuration.region)
            if retryable.contains(full.status) {
                let host = request.url.host ?? "the endpoint"
                error.message += " (\(host) answered \(full.status) to all \(full.attempts) attempts)"
            }
            throw error
        }
        return full
    }
}
