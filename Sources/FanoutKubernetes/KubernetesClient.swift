public import FanoutHTTP
public import Foundation
public import Logging
import Synchronization

/// A small client of the Kubernetes API over ``HTTPClient``: create, get, list, watch, patch, delete and pod logs,
/// with kubeconfig or in-cluster authentication.
///
/// Every request is counted in ``requests`` (by `verb resource`). Throttling (429) and unavailable servers
/// (5xx) are retried following ``retry`` and the server's `Retry-After`, except that a create is retried only
/// when it certainly did not happen: after a 429 or a connection that never opened. Error answers are thrown
/// as ``KubernetesError`` with the server's code, reason and message. A 401 is retried once with fresh
/// credentials (token file re-read, exec plugin run again).
///
/// ```swift
/// let client = try KubernetesClient()
/// let jobs = try await client.list(Job.self, labelSelector: "fanout.dev/run=20261124-203512-9f3c01ab")
/// ```
public final class KubernetesClient: Sendable {
    public let configuration: KubernetesConfiguration
    /// Retries of throttled and failed requests. Default ``RetryPolicy/default``, honouring `Retry-After`.
    public let retry: RetryPolicy
    /// Requests made through this client.
    public let requests: RequestCounter
    let core: Core
    let extraCounters: [RequestCounter]
    let logger: Logger

    /// What copies made by ``counting(into:)`` share: credentials and connections.
    final class Core: Sendable {
        let authenticator: KubernetesAuthenticator
        let httpConfiguration: HTTPClient.Configuration
        let transport = Mutex<(tls: TLSConfiguration, client: HTTPClient)?>(nil)

        init(authenticator: KubernetesAuthenticator, httpConfiguration: HTTPClient.Configuration) {
            self.authenticator = authenticator
            self.httpConfiguration = httpConfiguration
        }

        /// The HTTP client for a TLS identity; a new one when an exec plugin hands out a new certificate.
        func client(for tls: TLSConfiguration) -> HTTPClient {
            transport.withLock { current in
                if let current, current.tls == tls { return current.client }
                var configuration = httpConfiguration
                configuration.tls = tls
                let client = HTTPClient(configuration: configuration)
                current = (tls, client)
                return client
            }
        }
    }

    /// - Parameters:
    ///   - configuration: The cluster and credentials.
    ///   - retry: Retries of throttled and failed requests. Default: ``RetryPolicy/default`` in standard mode, its
    ///     budgets as changed by `environment`'s `FANOUT_HTTP_RETRY_BUDGET` and the other variables of
    ///     ``HTTPClient/Configuration``.
    ///   - environment: What exec plugins inherit. Default: this process's environment.
    ///   - now: The current time, for exec credentials' expiry. Default: the system clock.
    ///   - logger: Where retries and plugin runs are logged, at debug level.
    public init(
        configuration: KubernetesConfiguration,
        retry: RetryPolicy? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger = HTTPClient.noLogger
    ) {
        self.configuration = configuration
        self.retry = retry ?? {
            // The budgets the environment sets; the request rate stays the API server's to govern (its 429s say
            // when to wait), not an adaptive one's.
            var policy = HTTPClient.Configuration.fromEnvironment(environment).retry
            policy.mode = .standard
            return policy
        }()
        self.requests = RequestCounter()
        self.logger = logger
        self.extraCounters = []
        let http = HTTPClient.Configuration(
            connectTimeout: .seconds(10), stallTimeout: nil, retry: self.retry, tls: configuration.tls,
            proxy: configuration.proxy)
        self.core = Core(
            authenticator: KubernetesAuthenticator(
                configuration: configuration, environment: environment, now: now, logger: logger),
            httpConfiguration: http)
    }

    /// A client resolved as kubectl resolves one; see
    /// ``KubernetesConfiguration/resolve(kubeconfig:context:namespace:environment:serviceAccountDirectory:)``.
    public convenience init(
        kubeconfig: [String]? = nil, context: String? = nil, namespace: String? = nil,
        logger: Logger = HTTPClient.noLogger
    )
        throws
    {
        self.init(
            configuration: try .resolve(kubeconfig: kubeconfig, context: context, namespace: namespace), logger: logger)
    }

    private init(copying other: KubernetesClient, adding counter: RequestCounter) {
        configuration = other.configuration
        retry = other.retry
        requests = other.requests
        core = other.core
        logger = other.logger
        extraCounters = other.extraCounters + [counter]
    }

    /// A client sharing this one's credentials, connections and counts that also counts its requests in
    /// `counter`: how a backend reports the requests of one run.
    public func counting(into counter: RequestCounter) -> KubernetesClient {
        KubernetesClient(copying: self, adding: counter)
    }

    /// The namespace operations use when given none.
    public var namespace: String { configuration.namespace }

    /// Times the exec credential plugin has run.
    public var credentialPluginRuns: Int {
        get async { await core.authenticator.pluginRuns }
    }

    // MARK: - Requests

    /// One API request before it is sent.
    struct Request: Sendable {
        var method: HTTPMethod
        var path: String
        var query: [(String, String)] = []
        var body: Data?
        var contentType = "application/json"
        var accept = "application/json"
        /// `verb resource`, as counted.
        var operation: String
        /// Whether sending it twice does no harm (everything but create, and patches that add to lists).
        var idempotent: Bool
        var timeout: Duration? = .seconds(60)
    }

    /// Sends a request through the HTTP client's one retry loop, and returns the response with its body still
    /// streaming.
    ///
    /// What counts as retryable follows client-go: the policy's statuses for reads and other idempotent requests,
    /// only 429 for writes that may not be repeated; transport failures for idempotent requests, and for creates
    /// only a connection that never opened. A 401 is answered once by fresh credentials, within the same attempt.
    /// - Throws: ``KubernetesError`` for error statuses and transport failures.
    func perform(_ request: Request) async throws -> HTTPResponse {
        let url = try makeURL(request)
        let outline = HTTPRequest(method: request.method, url: url)
        // The first attempt uses the credential that chose the client; later ones ask again (it may have expired).
        var first: KubernetesCredential? = try await core.authenticator.credential()
        let response: HTTPResponse
        do {
            response = try await core.client(for: first!.tls).withRetries(
                outline, timeout: request.timeout, logger: logger
            ) { attempt, remaining in
                defer { first = nil }
                return try await self.attempt(
                    request, url: url, number: attempt, remaining: remaining, credential: first)
            }
        } catch let error as HTTPClientError {
            if error.code == .cancelled || Task.isCancelled { throw CancellationError() }
            throw KubernetesError(
                code: error.code == .timedOut ? .timedOut : .transport,
                message: "cannot reach the API server at \(configuration.server.absoluteString): \(error.message)",
                operation: request.operation, underlying: error)
        }
        guard response.isSuccess else { throw try await error(from: response, operation: request.operation) }
        return response
    }

    /// One attempt: sent with `credential` or the current one, and once more with fresh ones after a 401.
    private func attempt(
        _ request: Request, url: URL, number: Int, remaining: Duration?,
        credential given: KubernetesCredential?
    ) async throws -> AttemptOutcome<HTTPResponse> {
        var refreshedCredentials = false
        var given = given
        while true {
            let credential = if let given { given } else { try await core.authenticator.credential() }
            given = nil
            var headers: HTTPHeaders = ["Accept": request.accept, "User-Agent": "fanout"]
            if let token = credential.bearerToken { headers.add(name: "Authorization", value: "Bearer \(token)") }
            if request.body != nil { headers.add(name: "Content-Type", value: request.contentType) }
            requests.record(request.operation)
            for counter in extraCounters { counter.record(request.operation) }
            let response: HTTPResponse
            do {
                response = try await core.client(for: credential.tls).executeOnce(
                    HTTPRequest(
                        method: request.method, url: url, headers: headers,
                        body: request.body.map { .bytes($0) } ?? .empty),
                    timeout: remaining, attempt: number)
            } catch let error as HTTPClientError {
                // A connection that never opened sent nothing; a broken one may have delivered a create.
                let safe = error.code == .connectionFailed || (request.idempotent && error.isTransient)
                guard safe else { throw error }
                return .transientFailure(error)
            }
            if response.status == 401, !refreshedCredentials, core.authenticator.canRefresh {
                refreshedCredentials = true
                response.body.discard()
                await core.authenticator.invalidate()
                continue
            }
            // A write is repeated only when the server asked to be called later (429).
            guard retry.retryableStatuses.contains(response.status), response.status == 429 || request.idempotent
            else { return .success(response) }
            return .retryableAnswer(
                response, status: response.status,
                retryAfter: RetryPolicy.parseRetryAfter(response.headers["Retry-After"]))
        }
    }

    /// Sends a request and collects its body.
    func send(_ request: Request, maxBytes: Int = 64 << 20) async throws -> Data {
        let response = try await perform(request)
        do {
            return try await response.body.collect(upTo: maxBytes)
        } catch let error as HTTPClientError {
            if error.code == .cancelled || Task.isCancelled { throw CancellationError() }
            throw KubernetesError(
                code: .transport, message: "the response to \(request.operation) broke off: \(error.message)",
                operation: request.operation, underlying: error)
        }
    }

    private func makeURL(_ request: Request) throws -> URL {
        var components = URLComponents(url: configuration.server, resolvingAgainstBaseURL: false)
        let basePath = components?.path ?? ""
        components?.path = (basePath.hasSuffix("/") ? String(basePath.dropLast()) : basePath) + request.path
        if !request.query.isEmpty {
            components?.percentEncodedQuery = request.query.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }
                .joined(separator: "&")
        }
        guard let url = components?.url else {
            throw KubernetesError(code: .invalidConfiguration, message: "cannot make a URL for \(request.path)")
        }
        return url
    }

    private static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    private func error(from response: HTTPResponse, operation: String) async throws -> KubernetesError {
        let body = (try? await response.body.collect(upTo: 1 << 20)) ?? Data()
        if let status = try? JSONDecoder().decode(KubernetesStatus.self, from: body),
            status.code != nil || status.reason != nil
        {
            return KubernetesError(status: status, httpStatus: response.status, operation: operation)
        }
        let text = String(decoding: body.prefix(500), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let code = KubernetesError.Code.forStatus(response.status, reason: nil)
        return KubernetesError(
            code: code, message: text.isEmpty ? "the API server answered \(response.status)" : text,
            status: response.status, operation: operation)
    }
}
