public import FanoutSigV4
public import Foundation

/// Credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and, for temporary credentials,
/// `AWS_SESSION_TOKEN`.
///
/// Returns `nil` when neither key variable is set (blank counts as unset), and throws
/// ``CredentialError/Code/incompleteCredentials`` when only one of them is.
public struct EnvironmentCredentialProvider: AWSCredentialProvider {
    public let variables: [String: String]

    /// - Parameter variables: Environment variables. Default: the process's.
    public init(variables: [String: String] = ProcessInfo.processInfo.environment) {
        self.variables = variables
    }

    public func credentials() async throws -> AWSCredentials? {
        func value(_ name: String) -> String? {
            guard let value = variables[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty
            else { return nil }
            return value
        }
        let accessKeyID = value("AWS_ACCESS_KEY_ID")
        let secretAccessKey = value("AWS_SECRET_ACCESS_KEY")
        switch (accessKeyID, secretAccessKey) {
        case (nil, nil):
            return nil
        case (let accessKeyID?, let secretAccessKey?):
            return AWSCredentials(
                accessKeyID: accessKeyID, secretAccessKey: secretAccessKey,
                sessionToken: value("AWS_SESSION_TOKEN") ?? value("AWS_SECURITY_TOKEN"))
        case (nil, _):
            throw CredentialError(
                code: .incompleteCredentials,
                message: "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not: set both, or unset both")
        case (_, nil):
            throw CredentialError(
                code: .incompleteCredentials,
                message: "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both, or unset both")
        }
    }
}
