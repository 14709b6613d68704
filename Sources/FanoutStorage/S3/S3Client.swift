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
        case .chain(let provider): credentialCache = ExpiringCredentials(provider: provider)
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

    /// Signs and sends a request; the response body streams.
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
        var request = HTTPRequest(method: method, url: url, headers: headers, body: body)
        if let credentials = try await currentCredentials() {
            let signer = SigV4Signer(credentials: credentials, region: configuration.region)
            let hash = payloadHash ?? SigV4.sha256Hex(Data())
            do {
                let signed = try signer.signHeaders(
                    method: method.rawValue, url: url, headers: headers.map { ($0.name, $0.value) },
                    payloadHash: hash, date: configuration.now())
                request.headers = HTTPHeaders(signed.map { ($0.name, $0.value) })
            } catch {
                throw ObjectStoreError(code: .invalidArgument, message: "cannot sign the request", underlying: error)
            }
        }
        do {
            return try await http.execute(request, timeout: timeout, logger: logger)
        } catch let error as HTTPClientError {
            throw ObjectStoreError(
                code: .transport, message: "S3 request failed: \(error.description)",
                hint: configuration.endpoint.map { "Is the S3 endpoint \($0.absoluteString) right and up?" },
                underlying: error)
        }
    }

    /// Sends a request and collects its body, throwing the server's error for a non-2xx status.
    ///
    /// A body that breaks off or stalls after the headers arrived is requested again, within the HTTP client's
    /// ``RetryPolicy/maxAttempts``, since the HTTP client's own retries end once the headers are in.
    func send(
        _ method: HTTPMethod,
        bucket: String?,
        key: String? = nil,
        query: [(String, String?)] = [],
        headers: HTTPHeaders = [:],
        body: Data? = nil,
        maxBodyBytes: Int = 64 << 20
    ) async throws -> HTTPFullResponse {
        let target = url(bucket: bucket, key: key, query: query)
        let payloadHash = SigV4.sha256Hex(body ?? Data())
        let policy = http.configuration.retry
        var attempts = 0
        while true {
            let response = try await execute(
                method, url: target, headers: headers, body: body.map { .bytes($0) } ?? .empty,
                payloadHash: payloadHash)
            attempts += response.attempts
            let data: Data
            do {
                data = try await response.body.collect(upTo: response.isSuccess ? maxBodyBytes : 1 << 20)
            } catch let error as HTTPClientError where error.isTransient && attempts < policy.maxAttempts {
                let delay = policy.delay(afterAttempt: attempts, retryAfter: nil)
                logger.debug(
                    "retrying after the response body failed",
                    metadata: ["request": "\(method) \(target.path)", "error": "\(error.message)", "delay": "\(delay)"])
                try await Task.sleep(for: delay)
                continue
            } catch {
                throw ObjectStoreError(
                    code: .transport, message: "reading the response failed", bucket: bucket, key: key,
                    underlying: error)
            }
            let full = HTTPFullResponse(
                status: response.status, headers: response.headers, body: data, attempts: attempts)
            guard full.isSuccess else {
                throw S3ErrorResponse.error(
                    status: full.status, headers: full.headers, body: data, bucket: bucket, key: key,
                    configuredRegion: configuration.region)
            }
            return full
        }
    }
}
