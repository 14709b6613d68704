public import Foundation

/// What became of one file: its value or its error, and how it got there.
public struct FileOutcome<Output: Sendable>: Sendable {
    public let key: String
    public let ordinal: Int
    public let etag: String
    /// The file's size in bytes, as listed; `nil` for results stored by earlier versions of Fanout.
    public let size: Int64?
    public let result: Result<Output, FileFailure>
    /// Which attempt of the file's shard produced this.
    public let attempt: Int
    /// How long the step took on this file.
    public let duration: Duration
    /// Whether the result was reused from an earlier run of the same step version.
    public let cached: Bool
    /// When the step started on this file; `nil` for a failure no step produced (its shard failed as a whole) and
    /// for results stored by earlier versions of Fanout.
    public let startedAt: Date?
    /// How the program the step ran ended, for steps that run one (``CommandStep``).
    public let exit: ProgramExit?

    public var value: Output? { try? result.get() }

    public var failure: FileFailure? {
        if case .failure(let failure) = result { return failure }
        return nil
    }
}

/// A map step's error on one file. Failures are results: they are reported, counted against the run's tolerance,
/// and never stop the other files.
public struct FileFailure: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    /// The error's text, as the step threw it.
    public let message: String

    public init(message: String) { self.message = message }

    public var description: String { message }
}
