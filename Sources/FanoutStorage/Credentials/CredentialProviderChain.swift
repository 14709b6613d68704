public import FanoutSigV4
public import FanoutHTTP
public import Logging

/// Providers asked in order; the first that returns credentials wins.
///
/// A provider that returns `nil` is not configured and the next one is asked; a provider that throws stops the
/// chain, so a broken configuration is reported instead of being skipped in favour of other credentials. When
/// every provider returns `nil`, the chain throws ``CredentialError/Code/noCredentials``: it never returns `nil`.
public struct CredentialProviderChain: AWSCredentialProvider {
    public let providers: [any AWSCredentialProvider]
    let searched: String?
    let logger: Logger

    public init(_ providers: [any AWSCredentialProvider], logger: Logger = CredentialProviderChain.noLogger) {
        self.init(providers, searched: nil, logger: logger)
    }

    init(_ providers: [any AWSCredentialProvider], searched: String?, logger: Logger) {
        self.providers = providers
        self.searched = searched
        self.logger = logger
    }

    /// The AWS CLI's order, for what Fanout supports:
    /// 1. `explicit` credentials, when given;
    /// 2. ``EnvironmentCredentialProvider`` (skipped when ``AWSEnvironment/profile`` is set, as `--profile` does
    ///    in the AWS CLI);
    /// 3. ``AssumeRoleCredentialProvider``: a profile's role assumed with `source_profile` or `credential_source`;
    /// 4. ``WebIdentityCredentialProvider``: `AWS_WEB_IDENTITY_TOKEN_FILE` and `AWS_ROLE_ARN` (IRSA), or the
    ///    profile's `web_identity_token_file` and `role_arn`; before the shared files, as in botocore, so a pod's
    ///    role wins over keys in a mounted credentials file;
    /// 5. ``SSOCredentialProvider``: an IAM Identity Center profile, with the token `aws sso login` cached;
    /// 6. ``ProfileCredentialProvider``: the credentials file, `credential_process`, then the config file (a
    ///    `login_session` profile is refused: Fanout does not implement `aws login`);
    /// 7. ``ContainerCredentialProvider`` (ECS, EKS Pod Identity) from `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` or
    ///    `AWS_CONTAINER_CREDENTIALS_FULL_URI`;
    /// 8. ``InstanceMetadataCredentialProvider``: the instance role, from IMDSv2 (one attempt of one second, unless
    ///    `AWS_EC2_METADATA_DISABLED` is `true`).
    ///
    /// Anonymous access is never a fallback: unsigned requests are chosen explicitly by the client
    /// (`S3Credentials.anonymous`, a `--anonymous` option), never because nothing was found.
    ///
    /// - Parameters:
    ///   - explicit: Credentials given in code or on the command line. Default `nil`.
    ///   - environment: Variables, home directory and profile. Default: the process's.
    ///   - httpClient: The client for STS and the credential endpoints. Default ``HTTPClient/shared``.
    ///   - logger: Where the provider that answered is logged, at debug level.
    public static func `default`(
        explicit: AWSCredentials? = nil,
        environment: AWSEnvironment = AWSEnvironment(),
        httpClient: HTTPClient = .shared,
        logger: Logger = CredentialProviderChain.noLogger
    ) -> CredentialProviderChain {
        var providers: [any AWSCredentialProvider] = []
        if let explicit { providers.append(StaticCredentialProvider(explicit)) }
        if environment.profile == nil {
            providers.append(EnvironmentCredentialProvider(variables: environment.variables))
        }
        providers.append(AssumeRoleCredentialProvider(environment: environment, httpClient: httpClient, logger: logger))
        providers.append(
            WebIdentityCredentialProvider(environment: environment, httpClient: httpClient, logger: logger))
        providers.append(SSOCredentialProvider(environment: environment, httpClient: httpClient, logger: logger))
        providers.append(ProfileCredentialProvider(environment: environment, httpClient: httpClient, logger: logger))
        providers.append(ContainerCredentialProvider(environment: environment, httpClient: httpClient, logger: logger))
        providers.append(
            InstanceMetadataCredentialProvider(environment: environment, httpClient: httpClient, logger: logger))
        let searched =
            "looked in: \(environment.profile == nil ? "environment variables, " : "")web identity "
            + "(AWS_WEB_IDENTITY_TOKEN_FILE), profile '\(environment.profileName)' in "
            + "\(environment.credentialsFilePath) and \(environment.configFilePath), "
            + "container credentials (AWS_CONTAINER_CREDENTIALS_*_URI), "
            + "the instance metadata service"
        return CredentialProviderChain(providers, searched: searched, logger: logger)
    }

    /// The first credentials found.
    ///
    /// - Throws: The first provider's error, or ``CredentialError/Code/noCredentials`` when none found any.
    public func credentials() async throws -> AWSCredentials? {
        try await resolve().credentials
    }

    /// The first credentials found, with the provider that answered.
    ///
    /// - Throws: The first provider's error, or ``CredentialError/Code/noCredentials`` when none found any.
    public func resolve() async throws -> (credentials: AWSCredentials, provider: any AWSCredentialProvider) {
        for provider in providers {
            if let credentials = try await provider.credentials() {
                logger.debug("found AWS credentials", metadata: ["provider": "\(type(of: provider))"])
                return (credentials, provider)
            }
        }
        throw Self.noCredentialsError(searched: searched)
    }

    static func noCredentialsError(searched: String?) -> CredentialError {
        var message =
            "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, "
            + "or use --anonymous for public buckets"
        if let searched { message += " (\(searched))" }
        return CredentialError(code: .noCredentials, message: message)
    }

    /// A logger that discards everything, the default for providers given none.
    public static let noLogger = Logger(label: "fanout.credentials", factory: { _ in SwiftLogNoOpLogHandler() })
}
