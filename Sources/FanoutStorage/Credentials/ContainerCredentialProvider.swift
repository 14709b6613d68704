public import FanoutSigV4
public import FanoutHTTP
public import Foundation
public import Logging

/// Credentials from the container credentials endpoint: what ECS tasks and EKS Pod Identity give a container.
///
/// Configured by `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (a path on `http://169.254.170.2`, ECS) or
/// `AWS_CONTAINER_CREDENTIALS_FULL_URI` (EKS Pod Identity, `http://169.254.170.23/v1/credentials`), the relative
/// one first. The `Authorization` header is the contents of `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`, read again on
/// every call because the token is rotated on disk, else `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
///
/// As in the AWS CLI, a full URI must be HTTPS or name a loopback address or one of the container hosts
/// (`169.254.170.2`, `169.254.170.23`, `fd00:ec2::23`, `localhost`), so a token never goes elsewhere in clear.
/// Each call is a request: wrap the provider in ``ExpiringCredentials`` to reuse credentials until shortly before
/// their `Expiration`.
public struct ContainerCredentialProvider: AWSCredentialProvider {
    /// Where to ask, and with what token.
    public struct Configuration: Sendable, Hashable {
        /// The credentials endpoint.
        public var url: URL
        /// A file holding the `Authorization` header's value, read on every request. Default `nil`.
        public var authorizationTokenFile: String?
        /// The `Authorization` header's value, when ``authorizationTokenFile`` is `nil`. Default `nil`: none sent.
        public var authorizationToken: String?

        public init(url: URL, authorizationTokenFile: String? = nil, authorizationToken: String? = nil) {
            self.url = url
            self.authorizationTokenFile = authorizationTokenFile
            self.authorizationToken = authorizationToken
        }
    }

    /// The host a relative URI is resolved against.
    public static let ecsHost = "169.254.170.2"
    /// The hosts a full URI may name over plain HTTP, besides loopback addresses.
    public static let allowedHosts: Set<String> = [ecsHost, "169.254.170.23", "fd00:ec2::23", "localhost"]

    enum Source: Sendable {
        case fixed(Configuration)
        case environment(AWSEnvironment)
    }

    let source: Source
    let httpClient: HTTPClient
    let timeout: Duration
    let logger: Logger

    /// A provider with a fixed configuration; it never returns `nil`.
    ///
    /// - Parameters:
    ///   - timeout: The deadline for one call, retries included. Default 10 s.
    public init(
        _ configuration: Configuration,
        httpClient: HTTPClient = .shared,
        timeout: Duration = .seconds(10),
        logger: Logger = CredentialProviderChain.noLogger
    ) {
        self.source = .fixed(configuration)
        self.httpClient = httpClient
        self.timeout = timeout
        self.logger = logger
    }

    /// A provider configured by the `AWS_CONTAINER_*` variables; it returns `nil` when neither URI variable is set.
    public init(
        environment: AWSEnvironment = AWSEnvironment(),
        httpClient: HTTPClient = .shared,
        timeout: Duration = .seconds(10),
        logger: Logger = CredentialProviderChain.noLogger
    ) {
        self.source = .environment(environment)
        self.httpClient = httpClient
        self.timeout = timeout
        self.logger = logger
    }

    /// The configuration in use, or `nil` when the environment does not configure container credentials.
    ///
    /// - Throws: ``CredentialError/Code/invalidEndpoint`` when the URI is not a URL or names a host that is not
    ///   allowed.
    public func configuration() throws -> Configuration? {
        switch source {
        case .fixed(let configuration):
            return configuration
        case .environment(let environment):
            let url: URL
            if let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] {
                guard let resolved = URL(string: "http://\(Self.ecsHost)\(relative)") else {
                    throw CredentialError(
                        code: .invalidEndpoint,
                        message: "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is '\(relative)', which is not a URL path")
                }
                url = resolved
            } else if let full = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] {
                url = try Self.checkedFullURI(full)
            } else {
                return nil
            }
            return Configuration(
                url: url,
                authorizationTokenFile: environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"].map {
                    environment.expandingTilde(in: $0)
                },
                authorizationToken: environment.variables["AWS_CONTAINER_AUTHORIZATION_TOKEN"])
        }
    }

    /// Asks the endpoint for credentials; `nil` when container credentials are not configured.
    ///
    /// - Throws: ``CredentialError``: ``CredentialError/Code/unreadableFile`` naming the token file,
    ///   ``CredentialError/Code/metadataRequestFailed`` when the endpoint cannot be reached or refuses,
    ///   ``CredentialError/Code/invalidMetadataResponse`` when it answers something else than credentials.
    public func credentials() async throws -> AWSCredentials? {
        guard let configuration = try configuration() else { return nil }
        var headers: HTTPHeaders = ["Accept": "application/json"]
        if let token = try Self.authorizationToken(configuration) { headers.add(name: "Authorization", value: token) }
        let endpoint = configuration.url.absoluteString
        logger.debug("fetching container credentials", metadata: ["endpoint": "\(endpoint)"])
        let response = try await httpClient.credentialRequest(
            HTTPRequest(url: configuration.url, headers: headers), timeout: timeout, logger: logger,
            failure: .metadataRequestFailed,
            unreachable: "cannot reach the container credentials endpoint \(endpoint): check "
                + "AWS_CONTAINER_CREDENTIALS_FULL_URI / AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on EKS, that the "
                + "Pod Identity agent runs on the node)")
        guard response.status == 200 else {
            throw CredentialError(
                code: .metadataRequestFailed,
                message: "the container credentials endpoint \(endpoint) answered HTTP \(response.status) "
                    + "(\(response.bodyText.prefix(200))): check AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE / "
                    + "AWS_CONTAINER_AUTHORIZATION_TOKEN and the role association of the task or service account")
        }
        return try MetadataCredentials.parse(response.body, source: "the container credentials endpoint \(endpoint)")
    }

    /// A full URI, checked to be HTTPS or to name a loopback address or an allowed host.
    static func checkedFullURI(_ text: String) throws -> URL {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let rawHost = url.host, !rawHost.isEmpty
        else {
            throw CredentialError(
                code: .invalidEndpoint,
                message: "AWS_CONTAINER_CREDENTIALS_FULL_URI is '\(text)', which is not an http(s) URL")
        }
        let host = rawHost.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        guard scheme == "https" || LoopbackAddress.isLoopback(host) || allowedHosts.contains(host) else {
            throw CredentialError(
                code: .invalidEndpoint,
                message: "AWS_CONTAINER_CREDENTIALS_FULL_URI names the host '\(host)': over plain HTTP only a "
                    + "loopback address or one of \(allowedHosts.sorted().joined(separator: ", ")) may be used, "
                    + "so that the authorization token stays on the machine; use HTTPS or one of these hosts")
        }
        return url
    }

    /// The `Authorization` value: the token file's contents without a final line break, else the token.
    static func authorizationToken(_ configuration: Configuration) throws -> String? {
        let token: String
        if let file = configuration.authorizationTokenFile {
            do {
                let data = try Data(contentsOf: URL(fileURLWithPath: file))
                token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
            } catch {
                throw CredentialError(
                    code: .unreadableFile,
                    message: "cannot read the container authorization token file \(file): check that it exists and "
                        + "is readable (on EKS, that the Pod Identity token is mounted), or fix "
                        + "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                    underlyingError: error)
            }
        } else if let value = configuration.authorizationToken {
            token = value
        } else {
            return nil
        }
        guard !token.contains("\r"), !token.contains("\n") else {
            throw CredentialError(
                code: .incompleteCredentials,
                message: "the container authorization token contains a line break, which is not a legal header "
                    + "value: check AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE / AWS_CONTAINER_AUTHORIZATION_TOKEN")
        }
        return token
    }
}
