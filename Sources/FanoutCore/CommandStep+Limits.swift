import Foundation

extension CommandStep {
    /// How long a file's program may run, and which of its exit statuses mean success (GNU parallel's `--timeout`,
    /// and what `grep -c` needs: it exits 1 when it counts nothing).
    public struct Limits: Sendable, Hashable, Codable {
        /// Stop a file's program (its whole process group: `SIGTERM`, then `SIGKILL`) after this many seconds, and
        /// fail the file with "timed out after ...". Default `nil`: no limit.
        public var timeoutSeconds: Double?
        /// The exit statuses that make a file succeed. Default `[0]`. A program killed by a signal never succeeds.
        public var acceptedExitStatuses: Set<Int32>

        public init(timeoutSeconds: Double? = nil, acceptedExitStatuses: Set<Int32> = [0]) {
            self.timeoutSeconds = timeoutSeconds
            self.acceptedExitStatuses = acceptedExitStatuses
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            timeoutSeconds = try container.decodeIfPresent(Double.self, forKey: .timeoutSeconds)
            acceptedExitStatuses = try container.decodeIfPresent(Set<Int32>.self, forKey: .acceptedExitStatuses) ?? [0]
        }

        /// What these limits add to the step's version: nothing with the defaults, so earlier results stay valid.
        var versionParts: [String] {
            guard acceptedExitStatuses != [0] else { return [] }
            return ["accept=" + acceptedExitStatuses.sorted().map(String.init).joined(separator: ",")]
        }

        /// Whether `result` is a success.
        func accepts(_ result: ChildProcess.Result) -> Bool {
            !result.signaled && acceptedExitStatuses.contains(result.status)
        }

        /// Runs `body`, cancelling it (which stops its program) when it outlasts ``timeoutSeconds``.
        /// - Throws: ``ChildProcessError`` "timed out after ..." once the program has stopped, or what `body` throws.
        func withTimeLimit<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
            guard let timeoutSeconds else { return try await body() }
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await body() }
                group.addTask {
                    try await Task.sleep(for: .seconds(timeoutSeconds))
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let value = first else {
                    group.cancelAll()
                    // The program is stopped before the file fails: wait for it.
                    _ = try? await group.next()
                    throw ChildProcessError(message: "timed out after \(Self.text(seconds: timeoutSeconds))")
                }
                return value
            }
        }

        /// `90` as `1m30s`, `2.5` as `2.5s`.
        static func text(seconds: Double) -> String {
            guard seconds >= 60, seconds == seconds.rounded() else {
                return seconds == seconds.rounded() ? "\(Int(seconds))s" : "\(seconds)s"
            }
            let whole = Int(seconds)
            let (hours, minutes, rest) = (whole / 3600, whole % 3600 / 60, whole % 60)
            return (hours > 0 ? "\(hours)h" : "") + (minutes > 0 ? "\(minutes)m" : "") + (rest > 0 ? "\(rest)s" : "")
        }
    }
}
