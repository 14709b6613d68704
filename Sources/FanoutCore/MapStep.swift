/// A map step: a stable name, a version, and a typed async function applied to every input file.
///
/// The name identifies the step to worker processes and pods, which run the same executable; keep it stable.
/// Bump `version` when the function changes in a way that makes stored results stale: cached results are reused
/// only for the same name and version.
///
/// ```swift
/// let lineCount = MapStep("line-count", version: "1") { file in
///     try await file.lines().reduce(0) { count, _ in count + 1 }
/// }
/// ```
public struct MapStep<Output: Codable & Sendable>: Sendable {
    public let name: String
    public let version: String
    /// What the step was built from, recorded in the run's spec so tools can rebuild it (`fanout attach`).
    /// Default `nil`.
    public var parameters: String?
    /// Whether stored results are reused only by the same build of the program (its GNU build ID), so that a
    /// changed closure whose `version` was not bumped never reuses old results. Default `true`; a step whose
    /// result depends only on its ``parameters`` (a command's output, whichever build ran it) sets `false`.
    public var cacheFollowsBuild = true
    /// Whether the step reports the exit of a program it runs per file (``CommandStep``), so the file's record keeps
    /// it; other steps skip that bookkeeping.
    var reportsProgramExit = false
    let body: @Sendable (InputFile) async throws -> Output

    public init(
        _ name: String, version: String = "1", _ body: @escaping @Sendable (InputFile) async throws -> Output
    ) {
        precondition(!name.isEmpty && !name.contains("/"), "a step name must be non-empty and contain no '/'")
        self.name = name
        self.version = version
        self.body = body
    }
}

/// A step with its output type erased: what a worker needs to run a shard.
struct AnyMapStep: Sendable {
    /// The version results are cached under: ``version``, with the program's build when the step follows it.
    func cacheVersion(build: String?) -> String {
        guard cacheFollowsBuild, let build else { return version }
        return "\(version)+build-\(build.prefix(16))"
    }

    let name: String
    let version: String
    let parameters: String?
    let cacheFollowsBuild: Bool
    let reportsProgramExit: Bool
    /// Runs the step on a file and returns its result encoded as JSON, and as the value it is.
    let run: @Sendable (InputFile) async throws -> (json: [UInt8], value: any Sendable)

    init<Output>(_ step: MapStep<Output>) {
        name = step.name
        version = step.version
        parameters = step.parameters
        cacheFollowsBuild = step.cacheFollowsBuild
        reportsProgramExit = step.reportsProgramExit
        run = { file in
            let value = try await step.body(file)
            return (try RecordCoding.encodeValue(value), value)
        }
    }
}
