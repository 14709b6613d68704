public import FanoutSigV4
public import FanoutHTTP
public import Logging

/// Credentials from a profile of the shared files: `~/.aws/credentials`, then `~/.aws/config`.
///
/// The profile is ``AWSEnvironment/profileName`` (`AWS_PROFILE`, else `default`). In order:
/// 1. a role assumed with `source_profile` or `credential_source`, through ``AssumeRoleCredentialProvider``, or
///    an IAM Identity Center profile, through ``SSOCredentialProvider``;
/// 2. `aws_access_key_id`, `aws_secret_access_key` and `aws_session_token` in the credentials file's `[name]`;
/// 3. `credential_process` in the profile (config file, else credentials file), run by
///    ``ProcessCredentialProvider``;
/// 4. the same keys in the config file's `[profile name]` (`[default]` for the default profile).
///
/// A `login_session` profile (from `aws login`) is refused between 2 and 3, where botocore would use it: Fanout
/// does not implement that sign-in.
///
/// A profile's `web_identity_token_file` is ``WebIdentityCredentialProvider``'s, asked before this provider.
///
/// Returns `nil` when the profile is not in either file (the default profile) or holds no credentials (say, only a
/// region). Throws ``CredentialError`` when a chosen profile is missing, a file is malformed, a key pair is
/// incomplete, or a role, SSO token or `credential_process` cannot give credentials.
public struct ProfileCredentialProvider: AWSCredentialProvider {
    public let environment: AWSEnvironment
    let httpClient: HTTPClient
    let logger: Logger

    public init(
        environment: AWSEnvironment = AWSEnvironment(),
        httpClient: HTTPClient = .shared,
        logger: Logger = CredentialProviderChain.noLogger
    ) {
        self.environment = environment
        self.httpClient = httpClient
        self.logger = logger
    }

    public func credentials() async throws -> AWSCredentials? {
        let profile = try environment.loadProfile()
        if AssumeRoleCredentialProvider.assumesRole(profile) {
            let provider = AssumeRoleCredentialProvider(
                environment: environment, httpClient: httpClient, logger: logger)
            return try await provider.credentials()
        }
        if SSOCredentialProvider.usesSSO(profile) {
            return try await SSOCredentialProvider(environment: environment, httpClient: httpClient, logger: logger)
                .credentials()
        }
        if let section = profile.credentialsSection,
            let credentials = try Self.keyPair(
                in: section, describedAs: "profile '\(profile.name)' in \(profile.credentialsFilePath)")
        {
            return credentials
        }
        if let session = profile.configSection?["login_session"] {
            throw CredentialError(
                code: .unsupportedConfiguration,
                message: "profile '\(profile.name)' in \(profile.configFilePath) signs in with `aws login` "
                    + "(login_session = \(session)), which Fanout does not support: export credentials with "
                    + "`aws configure export-credentials --profile \(profile.name) --format env`, or use an SSO "
                    + "or assume-role profile")
        }
        let process = profile.configSection?["credential_process"] ?? profile.credentialsSection?["credential_process"]
        if let command = process, !command.isEmpty {
            return try await ProcessCredentialProvider(
                command: command, profileName: profile.name, environment: environment.variables, logger: logger
            ).credentials()
        }
        guard let section = profile.configSection else { return nil }
        return try Self.keyPair(in: section, describedAs: "profile '\(profile.name)' in \(profile.configFilePath)")
    }

    /// The key pair of a section; `nil` when it has neither key.
    static func keyPair(in section: [String: String], describedAs place: String) throws -> AWSCredentials? {
        let value = { (key: String) -> String? in section[key].flatMap { $0.isEmpty ? nil : $0 } }
        switch (value("aws_access_key_id"), value("aws_secret_access_key")) {
        case (nil, nil):
            return nil
        case (let accessKeyID?, let secretAccessKey?):
            return AWSCredentials(
                accessKeyID: accessKeyID, secretAccessKey: secretAccessKey,
                sessionToken: value("aws_session_token") ?? value("aws_security_token"))
        case (nil, _):
            throw CredentialError(
                code: .incompleteCredentials,
                message: "\(place) has aws_secret_access_key but no aws_access_key_id: add it, or remove both")
        case (_, nil):
            throw CredentialError(
                code: .incompleteCredentials,
                message: "\(place) has aws_access_key_id but no aws_secret_access_key: add it, or remove both")
        }
    }
}
