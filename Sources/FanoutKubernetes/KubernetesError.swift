import FanoutStorage
import Foundation

/// A Kubernetes operation that failed: the API answered with an error `Status`, the cluster could not be reached,
/// the kubeconfig or a credential plugin could not be used, or the backend gave up on the run.
///
/// When the API server answered, ``status``, ``reason`` and ``message`` are the server's own (`409`,
/// `AlreadyExists`, `jobs.batch "x" already exists`), and ``causes`` lists the field errors of a `422 Invalid`.
public struct KubernetesError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure. New codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Kind: Hashable, Sendable {
            case invalidConfiguration, credentialPlugin, unauthorized, forbidden, notFound, alreadyExists, conflict,
                invalid, badRequest, expired, tooManyRequests, server, transport, invalidResponse, podsPending,
                podsCannotStart, timedOut
        }

        let kind: Kind

        /// The kubeconfig, the in-cluster environment or the backend's options cannot be used.
        public static let invalidConfiguration = Code(kind: .invalidConfiguration)
        /// An exec credential plugin could not be run or printed no usable credential.
        public static let credentialPlugin = Code(kind: .credentialPlugin)
        /// 401: the server did not accept the credentials.
        public static let unauthorized = Code(kind: .unauthorized)
        /// 403: the credentials are not allowed this operation.
        public static let forbidden = Code(kind: .forbidden)
        /// 404: the object or path does not exist.
        public static let notFound = Code(kind: .notFound)
        /// 409 `AlreadyExists`: an object with this name exists.
        public static let alreadyExists = Code(kind: .alreadyExists)
        /// 409 `Conflict`: the object changed since it was read.
        public static let conflict = Code(kind: .conflict)
        /// 422 `Invalid`: the object failed validation; see ``KubernetesError/causes``.
        public static let invalid = Code(kind: .invalid)
        /// 400: the request was malformed (unknown field with strict validation, bad selector).
        public static let badRequest = Code(kind: .badRequest)
        /// 410 `Expired`: a resourceVersion or continue token is too old.
        public static let expired = Code(kind: .expired)
        /// 429: the server kept throttling after every retry.
        public static let tooManyRequests = Code(kind: .tooManyRequests)
        /// Any other error status.
        public static let server = Code(kind: .server)
        /// The API server could not be reached or the connection failed.
        public static let transport = Code(kind: .transport)
        /// The server answered something that is not what the API promises.
        public static let invalidResponse = Code(kind: .invalidResponse)
        /// The run's pods stayed Pending longer than the backend allows.
        public static let podsPending = Code(kind: .podsPending)
        /// A pod of the run cannot start: a Secret, ConfigMap or key it names is missing, its image cannot be
        /// pulled or is no valid name, or the cluster refuses to create it (Pod Security admission).
        public static let podsCannotStart = Code(kind: .podsCannotStart)
        /// An operation did not finish in the time allowed.
        public static let timedOut = Code(kind: .timedOut)

        public var description: String { "\(kind)" }

        /// The code for an HTTP status and `Status` reason.
        static func forStatus(_ status: Int, reason: String?) -> Code {
            switch status {
            case 400: .badRequest
            case 401: .unauthorized
            case 403: .forbidden
            case 404: .notFound
            case 409: reason == "AlreadyExists" ? .alreadyExists : .conflict
            case 410: .expired
            case 422: .invalid
            case 429: .tooManyRequests
            default: .server
            }
        }
    }

    public var code: Code
    /// What went wrong: the server's message when it sent one.
    public var message: String
    /// The HTTP status, when the server answered.
    public var status: Int?
    /// The `Status` reason the server sent (`AlreadyExists`, `Expired`, `Invalid`...).
    public var reason: String?
    /// Field errors of a `422 Invalid` answer, as `field: message`.
    public var causes: [String]
    /// The operation, as `verb resource` (`create jobs`, `watch pods`).
    public var operation: String?
    /// What a person can do about it, when we know.
    public var hint: String?
    /// The error underneath, if any.
    public var underlying: (any Error)?

    public init(
        code: Code, message: String, status: Int? = nil, reason: String? = nil, causes: [String] = [],
        operation: String? = nil, hint: String? = nil, underlying: (any Error)? = nil
    ) {
        self.code = code
        self.message = message
        self.status = status
        self.reason = reason
        self.causes = causes
        self.operation = operation
        self.hint = hint
        self.underlying = underlying
    }

    /// The error for an API `Status` answer.
    init(status: KubernetesStatus, httpStatus: Int, operation: String?) {
        let code = Code.forStatus(status.code ?? httpStatus, reason: status.reason)
        self.init(
            code: code, message: status.message ?? "the API server answered \(httpStatus)",
            status: status.code ?? httpStatus,
            reason: status.reason,
            causes: (status.details?.causes ?? []).map { cause in
                [cause.field, cause.message].compactMap { $0 }.joined(separator: ": ")
            },
            operation: operation, hint: Self.hint(for: code))
    }

    private static func hint(for code: Code) -> String? {
        switch code {
        case .unauthorized:
            "Check the kubeconfig's user: its token, client certificate or credential plugin."
        case .forbidden:
            "Ask for a Role that allows this verb on this resource in the namespace (kubectl auth can-i)."
        case .tooManyRequests:
            "The API server is throttling this client; try again later or raise its priority level."
        default: nil
        }
    }

    /// This error with a hint to run a Job per shard when it reads as a cluster rejecting what Indexed Jobs'
    /// per-index back-off needs (Kubernetes 1.29): `backoffLimitPerIndex`, `podFailurePolicy`, `FailIndex`, an
    /// invalid field (422) or, with strict field validation, an unknown one (400).
    func hintingAtAnOlderCluster() -> KubernetesError {
        guard code == .invalid || code == .badRequest else { return self }
        let text = ([message] + causes).joined(separator: " ")
        guard ["backoffLimitPerIndex", "podFailurePolicy", "FailIndex"].contains(where: text.contains) else {
            return self
        }
        var error = self
        let advice = "The cluster may be older than 1.29: run with --job-per-shard (a Job per shard; Options.mode .jobPerShard)."
        error.hint = [hint, advice].compactMap { $0 }.joined(separator: " ")
        return error
    }

    public var description: String {
        var text = operation.map { "\($0): " } ?? ""
        text += message
        if let status { text += " [\(status)\(reason.map { " \($0)" } ?? "")]" }
        if !causes.isEmpty { text += " (" + causes.joined(separator: "; ") + ")" }
        if let hint { text += ". \(hint)" }
        if let underlying { text += " Cause: " + SystemErrorText.describe(underlying) }
        return text
    }
}
