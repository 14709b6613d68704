public import FanoutSigV4
public import FanoutHTTP
public import Foundation
public import Logging

/// Credentials of the instance profile, from the EC2 instance metadata service (IMDSv2).
///
/// As the AWS CLI does: a session token is asked for with `PUT latest/api/token` (header
/// `X-aws-ec2-metadata-token-ttl-seconds`), then the role name and the role's credentials are read under
/// `latest/meta-data/iam/security-credentials/` with the token in `X-aws-ec2-metadata-token`. A service that
/// refuses the token request (HTTP 403, 404 or 405) is read without a token (IMDSv1).
///
/// The endpoint is `AWS_EC2_METADATA_SERVICE_ENDPOINT`, else `http://[fd00:ec2::254]/` when
/// `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE` is `IPv6`, else `http://169.254.169.254/`.
/// `AWS_EC2_METADATA_DISABLED=true` turns the provider off. Each request has one attempt of one second
/// (`AWS_METADATA_SERVICE_NUM_ATTEMPTS`, `AWS_METADATA_SERVICE_TIMEOUT`), so a machine without the service does
/// not wait: the provider answers `nil` whenever the service cannot be reached or has no role, never throwing, as
/// the last provider of the chain.
public struct InstanceMetadataCredentialProvider: AWSCredentialProvider {
    /// Where and how to ask.
    public struct Configuration: Sendable, Hashable {
        /// The service's base URL. Default `http://169.254.169.254/`.
        public var endpoint: URL
        /// The deadline of one request. Default 1 s.
        public var timeout: Duration
        /// Attempts per request. Default 1.
        public var attempts: Int
        /// The lifetime asked for the session token, in seconds. Default 21600 (6 hours).
        public var tokenTTL: Int

        public init(
            endpoint: URL = URL(string: "http://169.254.169.254/")!, timeout: Duration = .seconds(1),
            attempts: Int = 1, tokenTTL: Int = 21600
        ) {
            self.endpoint = endpoint
            self.timeout = timeout
            self.attempts = max(1, attempts)
            self.tokenTTL = tokenTTL
        }
    }

    enum Source: Sendable {
        case fixed(Configuration)
        case environment(AWSEnvironment)
    }

    let source: Source
    let httpClient: HTTPClient
    let logger: Logger

    /// A provider with a fixed configuration.
    public init(
        _ configuration: Configuration, httpClient: HTTPClient = .shared,
        logger: Logger = CredentialProviderChain.noLogger
    ) {
        self.source = .fixed(configuration)
        self.httpClient = httpClient
        self.logger = logger
    }

    /// A provider configured by the `AWS_EC2_METADATA_*` and `AWS_METADATA_SERVICE_*` variables.
    public init(
        environment: AWSEnvironment = AWSEnvironment(), httpClient: HTTPClient = .shared,
        logger: Logger = CredentialProviderChain.noLogger
    ) {
        self.source = .environment(environment)
        self.httpClient = httpClient
        self.logger = logger
    }

    /// The configuration in use, or `nil` when `AWS_EC2_METADATA_DISABLED` is `true`.
    ///
    /// - Throws: ``CredentialError/Code/invalidEndpoint`` when `AWS_EC2_METADATA_SERVICE_ENDPOINT` is not a URL.
    public func configuration() throws -> Configuration? {
        switch source {
        case .fixed(let configuration):
            return configuration
        case .environment(let environment):
            if environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true" { return nil }
            var configuration = Configuration()
            if let text = environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] {
                guard let url = URL(string: text), url.host != nil,
                    let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https"
                else {
                    throw CredentialError(
                        code: .invalidEndpoint,
                        message: "AWS_EC2_METADATA_SERVICE_ENDPOINT is '\(text)', which is not an http(s) URL")
                }
                configuration.endpoint = url
            } else if environment["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"]?.lowercased() == "ipv6" {
                configuration.endpoint = URL(string: "http://[fd00:ec2::254]/")!
            }
            if let seconds = environment["AWS_METADATA_SERVICE_TIMEOUT"].flatMap(Double.init), seconds > 0 {
                configuration.timeout = .milliseconds(Int(seconds * 1000))
            }
            if let attempts = environment["AWS_METADATA_SERVICE_NUM_ATTEMPTS"].flatMap(Int.init), attempts > 0 {
                configuration.attempts = attempts
            }
            return configuration
        }
    }

    /// The instance role's credentials; `nil` when the service is disabled, unreachable or has no role.
    ///
    /// - Throws: ``CredentialError/Code/invalidEndpoint`` for a malformed endpoint variable, nothing else.
    public func credentials() async throws -> AWSCredentials? {
        guard let configuration = try configuration() else { return nil }
        let fetch = InstanceMetadataFetch(configuration: configuration, httpClient: httpClient, logger: logger)
        do {
            return try await fetch.roleCredentials()
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            logger.debug(
                "no credentials from the instance metadata service",
                metadata: ["endpoint": "\(configuration.endpoint.absoluteString)", "error": "\(error)"])
            return nil
        }
    }
}
