public import Foundation

/// Where AWS settings come from: environment variables, the shared config and credentials files, and an
/// explicitly chosen profile.
///
/// Every credential provider and resolver reads settings through a value of this type and never from the process
/// directly, so tests can pass their own variables and home directory.
///
/// ```swift
/// let environment = AWSEnvironment(profile: "analytics")
/// let region = try environment.region()
/// let endpoint = try environment.endpointURL(for: "s3")
/// ```
public struct AWSEnvironment: Sendable, Hashable {
    /// Environment variables. Default: the process's.
    public var variables: [String: String]
    /// The directory `~` stands for in file paths. Default: `HOME` from ``variables``, else the user's home.
    public var homeDirectory: String
    /// A profile chosen explicitly (a `--profile` option). Default `nil`: `AWS_PROFILE`, else `default`.
    ///
    /// As with the AWS CLI, an explicit profile also makes the credential chain skip `AWS_ACCESS_KEY_ID` and
    /// `AWS_SECRET_ACCESS_KEY`, while `AWS_PROFILE` does not.
    public var profile: String?

    public init(
        variables: [String: String] = ProcessInfo.processInfo.environment,
        homeDirectory: String? = nil,
        profile: String? = nil
    ) {
        self.variables = variables
        self.homeDirectory =
            homeDirectory ?? variables["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        self.profile = profile
    }

    /// The profile in use: ``profile``, else `AWS_PROFILE`, else `default`.
    public var profileName: String { profile ?? self["AWS_PROFILE"] ?? "default" }

    /// The credentials file: `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`.
    public var credentialsFilePath: String {
        expandingTilde(in: self["AWS_SHARED_CREDENTIALS_FILE"] ?? "~/.aws/credentials")
    }

    /// The config file: `AWS_CONFIG_FILE`, else `~/.aws/config`.
    public var configFilePath: String {
        expandingTilde(in: self["AWS_CONFIG_FILE"] ?? "~/.aws/config")
    }

    /// A variable's value, trimmed; `nil` when unset or blank.
    subscript(name: String) -> String? {
        guard let value = variables[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else {
            return nil
        }
        return value
    }

    /// Whether the profile was chosen by ``profile`` or `AWS_PROFILE` rather than defaulted.
    var profileWasChosen: Bool { profile != nil || self["AWS_PROFILE"] != nil }

    /// Replaces a leading `~` with ``homeDirectory``.
    func expandingTilde(in path: String) -> String {
        guard path == "~" || path.hasPrefix("~/") else { return path }
        let home = homeDirectory.hasSuffix("/") ? String(homeDirectory.dropLast()) : homeDirectory
        return home + path.dropFirst()
    }

    /// Reads both shared files and returns the settings of ``profileName``.
    ///
    /// - Throws: ``CredentialError`` when a file cannot be read or parsed, or when a profile that was chosen
    ///   explicitly is in neither file.
    /// Checks that the profile in use can be read, and that it exists when it was chosen explicitly.
    /// - Throws: ``CredentialError`` with code ``CredentialError/Code/profileNotFound`` naming both files, or the
    ///   error of a file that cannot be read.
    public func checkProfile() throws {
        _ = try loadProfile()
    }

    func loadProfile() throws -> AWSProfile {
        let name = profileName
        let credentialsPath = credentialsFilePath
        let configPath = configFilePath
        let credentialsFile = try AWSConfigFile.load(path: credentialsPath)
        let configFile = try AWSConfigFile.load(path: configPath)
        let configSection =
            name == "default"
            ? configFile?["default"] ?? configFile?["profile default"]
            : configFile?["profile \(name)"]
        let servicesSection = (configSection?["services"]).flatMap { configFile?["services \($0)"] }
        let profile = AWSProfile(
            name: name,
            credentialsFilePath: credentialsPath,
            configFilePath: configPath,
            credentialsSection: credentialsFile?[name],
            configSection: configSection,
            servicesSection: servicesSection)
        if !profile.exists && profileWasChosen {
            throw CredentialError(
                code: .profileNotFound,
                message: "the AWS profile '\(name)' is in neither \(credentialsPath) nor \(configPath): "
                    + "check its name (AWS_PROFILE or --profile), or create it with `aws configure --profile \(name)`")
        }
        return profile
    }
}
