public import FanoutSigV4
public import Foundation
public import Logging

/// Credentials printed by a profile's `credential_process` program (1Password, aws-vault, corporate helpers).
///
/// The command line is split into words as the AWS CLI does (quotes and backslashes as in a POSIX shell) and run
/// without a shell, with the environment's variables. The program must exit 0 and print a JSON document with
/// `"Version": 1`, `AccessKeyId` and `SecretAccessKey`, and optionally `SessionToken` and `Expiration`
/// (ISO 8601); wrap the provider in ``ExpiringCredentials`` to run it again only shortly before that time.
public struct ProcessCredentialProvider: AWSCredentialProvider {
    /// The command line, as written in the profile.
    public let command: String
    /// The profile it comes from, for messages.
    public let profileName: String
    let environment: [String: String]
    let logger: Logger

    public init(
        command: String, profileName: String, environment: [String: String] = ProcessInfo.processInfo.environment,
        logger: Logger = CredentialProviderChain.noLogger
    ) {
        self.command = command
        self.profileName = profileName
        self.environment = environment
        self.logger = logger
    }

    /// Runs the program and reads its credentials.
    ///
    /// - Throws: ``CredentialError/Code/credentialProcessFailed`` when the command cannot be split or run, exits
    ///   non-zero (with its standard error), or prints something else than version 1 credentials.
    public func credentials() async throws -> AWSCredentials? {
        let place = "the credential_process of profile '\(profileName)'"
        let arguments: [String]
        do {
            arguments = try ShellWords.split(command)
        } catch {
            throw CredentialError(
                code: .credentialProcessFailed, message: "\(place) cannot be split into words: \(error)",
                underlyingError: error)
        }
        logger.debug("running credential_process", metadata: ["profile": "\(profileName)"])
        let output: CredentialProcessRunner.Output
        do {
            output = try await CredentialProcessRunner.run(arguments, environment: environment)
        } catch {
            throw CredentialError(
                code: .credentialProcessFailed,
                message: "\(place) could not be started (\(error)): check the command in the config file",
                underlyingError: error)
        }
        guard output.status == 0 else {
            let detail = String(decoding: output.standardError, as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            throw CredentialError(
                code: .credentialProcessFailed,
                message: "\(place) exited with status \(output.status)"
                    + (detail.isEmpty ? "" : ": \(detail.prefix(500))"))
        }
        return try Self.parse(output.standardOutput, place: place)
    }

    struct Document: Decodable {
        let version: Int?
        let accessKeyID: String?
        let secretAccessKey: String?
        let sessionToken: String?
        let expiration: String?

        enum CodingKeys: String, CodingKey {
            case version = "Version", accessKeyID = "AccessKeyId", secretAccessKey = "SecretAccessKey"
            case sessionToken = "SessionToken", expiration = "Expiration"
        }
    }

    static func parse(_ data: Data, place: String) throws -> AWSCredentials {
        let document: Document
        do {
            document = try JSONDecoder().decode(Document.self, from: data)
        } catch {
            throw CredentialError(
                code: .credentialProcessFailed, message: "\(place) did not print a JSON document",
                underlyingError: error)
        }
        guard document.version == 1 else {
            throw CredentialError(
                code: .credentialProcessFailed,
                message: "\(place) printed Version \(document.version.map(String.init) ?? "(none)"); only version 1 "
                    + "is supported")
        }
        guard let accessKeyID = document.accessKeyID, let secretAccessKey = document.secretAccessKey else {
            throw CredentialError(
                code: .credentialProcessFailed,
                message: "\(place) printed no AccessKeyId or no SecretAccessKey")
        }
        let expiration = try document.expiration.map { text in
            guard let date = WebIdentityCredentialProvider.parseTimestamp(text) else {
                throw CredentialError(
                    code: .credentialProcessFailed,
                    message: "\(place) printed an Expiration that is not an ISO 8601 time: '\(text)'")
            }
            return date
        }
        return AWSCredentials(
            accessKeyID: accessKeyID, secretAccessKey: secretAccessKey, sessionToken: document.sessionToken,
            expiration: expiration)
    }
}
