/// AWS credentials, region or endpoint settings that were found but could not be used.
///
/// Settings that are simply absent are not errors: a provider answers `nil` and the chain moves on. This error
/// means something is configured and broken, or that nothing at all is configured; its ``message`` says what to
/// change, and ``underlyingError`` keeps the cause (a file-system error, an ``HTTPClientError``...).
public struct CredentialError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. New codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Kind: Hashable, Sendable {
            case noCredentials, incompleteCredentials, profileNotFound, invalidConfigFile, unreadableFile
            case unsupportedConfiguration, invalidEndpoint, stsRequestFailed, stsRejected, invalidSTSResponse
            case metadataRequestFailed, invalidMetadataResponse, credentialProcessFailed
        }

        let kind: Kind

        /// No provider in the chain found credentials.
        public static let noCredentials = Code(kind: .noCredentials)
        /// Half a key pair: an access key without its secret, or the reverse.
        public static let incompleteCredentials = Code(kind: .incompleteCredentials)
        /// The profile asked for is in neither the credentials file nor the config file.
        public static let profileNotFound = Code(kind: .profileNotFound)
        /// A shared config or credentials file could not be parsed.
        public static let invalidConfigFile = Code(kind: .invalidConfigFile)
        /// A file that is configured (web identity token, config file) could not be read.
        public static let unreadableFile = Code(kind: .unreadableFile)
        /// A credential mechanism Fanout does not implement (`login_session`, `mfa_serial`).
        public static let unsupportedConfiguration = Code(kind: .unsupportedConfiguration)
        /// A configured endpoint URL is not a valid http(s) URL.
        public static let invalidEndpoint = Code(kind: .invalidEndpoint)
        /// STS could not be reached.
        public static let stsRequestFailed = Code(kind: .stsRequestFailed)
        /// STS answered with an error.
        public static let stsRejected = Code(kind: .stsRejected)
        /// STS answered with something that is not a credentials document.
        public static let invalidSTSResponse = Code(kind: .invalidSTSResponse)

        /// A credentials endpoint (container credentials, instance metadata) could not be reached or refused.
        public static let metadataRequestFailed = Code(kind: .metadataRequestFailed)
        /// A credentials endpoint answered with something that is not a credentials document.
        public static let invalidMetadataResponse = Code(kind: .invalidMetadataResponse)

        /// A profile's `credential_process` could not be run, failed, or printed no credentials.
        public static let credentialProcessFailed = Code(kind: .credentialProcessFailed)

        public var description: String { "\(kind)" }
    }

    public let code: Code
    /// What went wrong, and what to do about it.
    public let message: String
    /// The error that caused this one, if any.
    public let underlyingError: (any Error)?

    public init(code: Code, message: String, underlyingError: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlyingError = underlyingError
    }

    /// The message, followed by the chain of causes.
    public var description: String {
        guard let underlyingError else { return message }
        return "\(message) (caused by: \(underlyingError))"
    }
}
