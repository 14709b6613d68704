public import FanoutSigV4
public import FanoutHTTP
import Foundation
public import Logging

/// Credentials of a role assumed through STS `AssumeRole`, for a profile with `role_arn` and either
/// `source_profile` (whose own credentials sign the call; it may assume a role itself, so roles chain) or
/// `credential_source` (`Environment`, `Ec2InstanceMetadata` or `EcsContainer`).
///
/// Also read: `role_session_name` (default `fanout-` and the time in seconds), `external_id` and
/// `duration_seconds`. `mfa_serial` is refused: Fanout cannot prompt for a code. The endpoint is the one
/// ``AWSEnvironment`` configures for `sts` (`AWS_ENDPOINT_URL_STS`...), else the regional one. Returns `nil` when
/// the profile does not assume a role this way; a `role_arn` with `web_identity_token_file` is left to
/// ``WebIdentityCredentialProvider``.
public struct AssumeRoleCredentialProvider: AWSCredentialProvider {
    public let environment: AWSEnvironment
    let httpClient: HTTPClient
    let timeout: Duration
    let logger: Logger

    public init(
        environment: AWSEnvironment = AWSEnvironment(), httpClient: HTTPClient = .shared,
        timeout: Duration = .seconds(30), logger: Logger = CredentialProviderChain.noLogger
    ) {
        self.environment = environment
        self.httpClient = httpClient
        self.timeout = timeout
        self.logger = logger
    }

    public func credentials() async throws -> AWSCredentials? {
        let profile = try environment.loadProfile()
        guard Self.assumesRole(profile) else { return nil }
        return try await credentials(for: profile, visited: [])
    }

    static func assumesRole(_ profile: AWSProfile) -> Bool {
        profile["role_arn"] != nil && profile["web_identity_token_file"] == nil
            && (profile["source_profile"] != nil || profile["credential_source"] != nil)
    }

    private func credentials(for profile: AWSProfile, visited: [String]) async throws -> AWSCredentials {
        let place = "profile '\(profile.name)' in \(profile.configFilePath)"
        guard let roleARN = profile["role_arn"] else {
            throw CredentialError(code: .incompleteCredentials, message: "\(place) has no role_arn")
        }
        if profile["mfa_serial"] != nil {
            throw CredentialError(
                code: .unsupportedConfiguration,
                message: "\(place) needs an MFA code (mfa_serial), which Fanout cannot ask for: export credentials "
                    + "with `aws configure export-credentials --profile \(profile.name) --format env`")
        }
        let source = try await sourceCredentials(of: profile, place: place, visited: visited + [profile.name])
        let call = AssumeRoleCall(
            roleARN: roleARN,
            sessionName: profile["role_session_name"] ?? "fanout-\(Int(Date().timeIntervalSince1970))",
            externalID: profile["external_id"], durationSeconds: profile["duration_seconds"].flatMap { Int($0) },
            endpoint: try environment.stsEndpoint(), region: (try environment.configuredRegion())?.rawValue)
        logger.debug("assuming role", metadata: ["role": "\(roleARN)", "profile": "\(profile.name)"])
        return try await call.send(signedWith: source, httpClient: httpClient, timeout: timeout, logger: logger)
    }

    private func sourceCredentials(of profile: AWSProfile, place: String, visited: [String]) async throws
        -> AWSCredentials
    {
        switch (profile["source_profile"], profile["credential_source"]) {
        case (_?, _?):
            throw CredentialError(
                code: .invalidConfigFile,
                message: "\(place) sets both source_profile and credential_source: keep one")
        case (nil, let source?):
            let provider: any AWSCredentialProvider
            switch source {
            case "Environment": provider = EnvironmentCredentialProvider(variables: environment.variables)
            case "Ec2InstanceMetadata":
                provider = InstanceMetadataCredentialProvider(
                    environment: environment, httpClient: httpClient, logger: logger)
            case "EcsContainer":
                provider = ContainerCredentialProvider(environment: environment, httpClient: httpClient, logger: logger)
            default:
                throw CredentialError(
                    code: .invalidConfigFile,
                    message: "\(place) has credential_source = \(source): use Environment, Ec2InstanceMetadata or "
                        + "EcsContainer")
            }
            guard let credentials = try await provider.credentials() else {
                throw CredentialError(
                    code: .noCredentials, message: "\(place) takes credentials from \(source), which has none")
            }
            return credentials
        case (let name?, nil):
            var sourceEnvironment = environment
            sourceEnvironment.profile = name
            let sourceProfile = try sourceEnvironment.loadProfile()
            guard sourceProfile.exists else {
                throw CredentialError(
                    code: .profileNotFound, message: "\(place) names source_profile \(name), which does not exist")
            }
            if name != profile.name, Self.assumesRole(sourceProfile) {
                guard !visited.contains(name) else {
                    throw CredentialError(
                        code: .invalidConfigFile,
                        message: "source_profile makes a loop: \((visited + [name]).joined(separator: " -> "))")
                }
                return try await credentials(for: sourceProfile, visited: visited)
            }
            let keys =
                try sourceProfile.credentialsSection.flatMap {
                    try ProfileCredentialProvider.keyPair(in: $0, describedAs: "profile '\(name)'")
                } ?? sourceProfile.configSection.flatMap {
                    try ProfileCredentialProvider.keyPair(in: $0, describedAs: "profile '\(name)'")
                }
            if let keys { return keys }
            if name != profile.name {
                // The source profile's own settings only: its environment names a profile, so variables are ignored.
                let providers: [any AWSCredentialProvider] = [
                    WebIdentityCredentialProvider(
                        environment: sourceEnvironment, httpClient: httpClient, logger: logger),
                    ProfileCredentialProvider(environment: sourceEnvironment, httpClient: httpClient, logger: logger),
                ]
                for provider in providers {
                    if let credentials = try await provider.credentials() { return credentials }
                }
            }
            throw CredentialError(
                code: .noCredentials, message: "\(place) names source_profile \(name), which holds no credentials")
        case (nil, nil):
            throw CredentialError(code: .incompleteCredentials, message: "\(place) has no source of credentials")
        }
    }
}
