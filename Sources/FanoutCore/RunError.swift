import FanoutStorage

/// A run that could not start, could not finish, or finished with more failures than tolerated.
public struct RunError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure. New codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Kind: Hashable, Sendable {
            case tooManyFailures, corruptState, invalidInput, notFound, backendFailed, worker, tamperedState, leaseHeld
        }

        let kind: Kind

        /// More files failed than the run tolerates.
        public static let tooManyFailures = Code(kind: .tooManyFailures)
        /// Stored run state is damaged or from an incompatible version.
        public static let corruptState = Code(kind: .corruptState)
        /// The input or options cannot be used.
        public static let invalidInput = Code(kind: .invalidInput)
        /// The run, or something it needs, does not exist.
        public static let notFound = Code(kind: .notFound)
        /// The backend could not run the shards.
        public static let backendFailed = Code(kind: .backendFailed)
        /// A worker was started wrongly.
        public static let worker = Code(kind: .worker)
        /// Stored run state differs from what the run was started with (``RunDigest``).
        public static let tamperedState = Code(kind: .tamperedState)
        /// Another driver holds the run's lease (``LeaseSettings``), or took it from this one.
        public static let leaseHeld = Code(kind: .leaseHeld)

        public var description: String { "\(kind)" }
    }

    public let code: Code
    /// What happened, and what to do about it.
    public let message: String
    /// The files that failed, when the run failed because of them (at most 100 are kept).
    public let failedFiles: [(key: String, message: String)]
    public let underlying: (any Error)?

    public init(
        code: Code, message: String, failedFiles: [(key: String, message: String)] = [],
        underlying: (any Error)? = nil
    ) {
        self.code = code
        self.message = message
        self.failedFiles = failedFiles
        self.underlying = underlying
    }

    public var description: String {
        var text = message
        for file in failedFiles.prefix(5) { text += "\n  \(file.key): \(file.message)" }
        if failedFiles.count > 5 { text += "\n  ... and \(failedFiles.count - 5) more" }
        if let underlying { text += "\nCause: " + SystemErrorText.describe(underlying) }
        return text
    }
}
