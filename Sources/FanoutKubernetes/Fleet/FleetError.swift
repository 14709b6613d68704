import FanoutStorage

/// A fleet that cannot be used: a file that cannot be read or holds an unknown key, a declaration that breaks a
/// rule, requirements that make no sense, or a run that no cluster of the fleet can serve.
public struct FleetError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure. New codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Kind: Hashable, Sendable {
            case invalidFile, invalidFleet, invalidRequirements, noMatch
        }

        let kind: Kind

        /// The fleet file cannot be read, is no YAML or JSON, or does not follow the schema (an unknown key).
        public static let invalidFile = Code(kind: .invalidFile)
        /// The fleet breaks a rule: a duplicate cluster name, a negative capacity, a memory that is no quantity...
        public static let invalidFleet = Code(kind: .invalidFleet)
        /// The requirements cannot be met by any machine (a negative CPU, a memory that is no quantity).
        public static let invalidRequirements = Code(kind: .invalidRequirements)
        /// No cluster of the fleet offers what the run requires; the message names the nearest offers.
        public static let noMatch = Code(kind: .noMatch)

        public var description: String { "\(kind)" }
    }

    public var code: Code
    /// What went wrong.
    public var message: String
    /// What a person can do about it.
    public var hint: String?
    /// The error underneath, if any (the YAML parser's).
    public var underlying: (any Error)?

    public init(code: Code, message: String, hint: String? = nil, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
        self.underlying = underlying
    }

    public var description: String {
        var text = message
        if let hint { text += ". \(hint)" }
        if let underlying, !(underlying is DecodingError) { text += " Cause: " + SystemErrorText.describe(underlying) }
        return text
    }
}
