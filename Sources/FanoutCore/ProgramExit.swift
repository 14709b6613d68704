import Synchronization

/// How the program a step ran for one file ended: recorded with the file's result, so a job log can show the exit
/// status and signal of each file as GNU parallel's `--joblog` does.
public struct ProgramExit: Sendable, Hashable {
    /// The exit status, or `0` when a signal ended the program.
    public let status: Int32
    /// The signal that ended the program, or `0` when it exited.
    public let signal: Int32

    public init(status: Int32, signal: Int32) {
        self.status = status
        self.signal = signal
    }

    init(_ result: ChildProcess.Result) {
        self.init(status: result.signaled ? 0 : result.status, signal: result.signaled ? result.status : 0)
    }
}

/// Where a step reports the exit of the program it ran for the file at hand; the shard executor reads it into the
/// file's record. Bound per file as a task-local, so steps that run no program pay nothing.
final class ProgramExitRecorder: Sendable {
    @TaskLocal static var current: ProgramExitRecorder?

    private let recorded = Mutex<ProgramExit?>(nil)

    var exit: ProgramExit? { recorded.withLock { $0 } }

    func record(_ exit: ProgramExit) {
        recorded.withLock { $0 = exit }
    }
}
