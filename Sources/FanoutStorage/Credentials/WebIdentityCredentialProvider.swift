public import FanoutSigV4
public import FanoutHTTP
public import Foundation
public import Logging

/// Temporary credentials for an IAM role, obtained by trading an OIDC token (a Kubernetes service account token,
/// as EKS projects it) with STS `AssumeRoleWithWebIdentity`.
///
/// Configured by `AWS_WEB_IDENTITY_TOKEN_FILE` and `AWS_ROLE_ARN` (and optionally `AWS_ROLE_SESSION_NAME`), or by
/// the profile's `web_identity_token_file` and `role_arn` (see ``configuration()``), or by a ``Configuration``
/// given in code. The request is unsigned, so no other credentials are needed.
///
/// The token file is read again on every call, because the token is rotated on disk. Each call is a request to
/// STS: wrap the provider in ``ExpiringCredentials`` to reuse credentials until five minutes before
/// they expire.
///
/// The endpoint is `AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL`, else the profile's endpoint settings, else
/// `https://sts.REGION.amazonaws.com` for the configured region, else `https://sts.amazonaws.com`.
public struct WebIdentityCredentialProvider: AWSCredentialProvider {
    /// What to ask STS for.
    public struct Configuration: Sendable, Hashable {
        /// The ARN of the role to assume.
        public var roleARN: String
        /// The file holding the OIDC token; read on every request.
        public var tokenFile: String
        /// The session name recorded in CloudTrail. Default `nil`: `fanout-` and the time in seconds.
        public var sessionName: String?
        /// The STS endpoint, such as `https://sts.eu-west-1.amazonaws.com`.
        public var stsEndpoint: URL

        public init(roleARN: String, tokenFile: String, sessionName: String? = nil, stsEndpoint: URL) {
            self.roleARN = roleARN
            self.tokenFile = tokenFile
            self.sessionName = sessionName
            self.stsEndpoint = stsEndpoint
        }
    }

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
    ///   - timeout: The deadline for one STS call, retries included. Default 30 s.
    public init(
        _ configuration: Configuration,
        httpClient: HTTPClient = .shared,
        timeout: Duration = .seconds(30),
        logger: Logger = CredentialProviderChain.noLogger
    ) {
        self.source = .fixed(configuration)
        self.httpClient = httpClient
        self.timeout = timeout
        self.logger = logger
    }

    /// A provider configured by `AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN` and `AWS_ROLE_SESSION_NAME`, or the
    /// profile's `web_identity_token_file`, `role_arn` and `role_session_name`.
    ///
    /// It returns `nil` when no token file is set, and throws ``CredentialError/Code/incompleteCredentials`` when
    /// one is set without a role ARN.
    public init(
        environment: AWSEnvironment = AWSEnvironment(),
        httpClient: HTTPClient = .shared,
        timeout: Duration = .seconds(30),
        logger: Logger = CredentialProviderChain.noLogger
    ) {
        self.source = .environment(environment)
        self.httpClient = httpClient
        self.timeout = timeout
        self.logger = logger
    }

    /// The configuration in use, or `nil` when the environment does not configure web identity.
    ///
    /// As botocore does, each setting is taken from its variable (`AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN`,
    /// `AWS_ROLE_SESSION_NAME`), else from the profile (`web_identity_token_file`, `role_arn`,
    /// `role_session_name`); the variables are ignored when ``AWSEnvironment/profile`` is set, as `--profile`
    /// ignores environment credentials.
    ///
    /// - Throws: ``CredentialError/Code/incompleteCredentials`` for a token file without a role ARN.
    public func configuration() throws -> Configuration? {
        switch source {
        case .fixed(let configuration):
            return configuration
        case .environment(let environment):
            let profile = try environment.loadProfile()
            let value = { (variable: String, key: String) -> String? in
                if environment.profile == nil, let value = environment[variable] { return value }
                return profile.configSection?[key].flatMap { $0.isEmpty ? nil : $0 }
            }
            guard let tokenFile = value("AWS_WEB_IDENTITY_TOKEN_FILE", "web_identity_token_file") else { return nil }
            guard let roleARN = value("AWS_ROLE_ARN", "role_arn") else {
                throw CredentialError(
                    code: .incompleteCredentials,
                    message: "a web identity token file is set (AWS_WEB_IDENTITY_TOKEN_FILE or web_identity_token_file "
                        + "of profile '\(profile.name)') but AWS_ROLE_ARN is not, nor role_arn: set the ARN of the "
                        + "role to assume, or unset the token file")
            }
            return Configuration(
                roleARN: roleARN,
                tokenFile: environment.expandingTilde(in: tokenFile),
                sessionName: value("AWS_ROLE_SESSION_NAME", "role_session_name"),
                stsEndpoint: try environment.stsEndpoint())
        }
    }

    /// Reads the token file and asks STS for credentials; `nil` when web identity is not configured.
    ///
    /// - Throws: ``CredentialError``: ``CredentialError/Code/unreadableFile`` naming the token file,
    ///   ``CredentialError/Code/stsRequestFailed`` when STS cannot be reached,
    ///   ``CredentialError/Code/stsRejected`` with STS's error code and message, or
    ///   ``CredentialError/Code/invalidSTSResponse``.
    public func credentials() async throws -> AWSCredentials? {
        guard let configuration = try configuration() else { return nil }
        return try await assumeRole(configuration)
    }

    func assumeRole(_ configuration: Configuration) async throws -> AWSCredentials {
        let token = try Self.readToken(at: configuration.tokenFile)
        let sessionName = configuration.sessionName ?? "fanout-\(Int(Date().timeIntervalSince1970))"
        let request = Self.assumeRoleRequest(configuration: configuration, sessionName: sessionName, token: token)
        logger.debug(
            "assuming role with web identity",
            metadata: ["role": "\(configuration.roleARN)", "sts": "\(configuration.stsEndpoint.absoluteString)"])
        let response = try await httpClient.credentialRequest(
            request, timeout: timeout, logger: logger, failure: .stsRequestFailed,
            unreachable: "cannot reach STS at \(configuration.stsEndpoint.absoluteString) to assume role "
                + "\(configuration.roleARN): check the network, or set AWS_ENDPOINT_URL_STS or AWS_REGION")
        return try Self.parseResponse(
            status: response.status, body: response.bodyText, roleARN: configuration.roleARN,
            endpoint: configuration.stsEndpoint)
    }

    static func readToken(at path: String) throws -> String {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw CredentialError(
                code: .unreadableFile,
                message: "cannot read the web identity token file \(path): check that it exists and is readable "
                    + "(on Kubernetes, that the service account token is projected there), or fix "
                    + "AWS_WEB_IDENTITY_TOKEN_FILE / web_identity_token_file",
                underlyingError: error)
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else {
            throw CredentialError(
                code: .unreadableFile,
                message: "the web identity token file \(path) is empty: check what writes the token there")
        }
        return token
    }
}
