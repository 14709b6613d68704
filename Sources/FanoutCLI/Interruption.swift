import ArgumentParser
import Dispatch
import Foundation

/// Runs the part of a command that drives a run so that Ctrl-C (SIGINT) and SIGTERM stop it cleanly.
///
/// The first signal cancels the work: the run stops its workers (and, on Kubernetes, deletes its Jobs and waits
/// for their pods to go) before the command exits with status 130. A second Ctrl-C quits at once.
enum Interruption {
    static func run(runID: String, _ work: @escaping @Sendable () async throws -> Void) async throws {
        let task = Task { try await work() }
        let sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if task.isCancelled {
                    FileHandle.standardError.write(Data("\nstopped without cleaning up\n".utf8))
                    exit(130)
                }
                FileHandle.standardError.write(Data(
                    "\nstopping run \(runID): its workers stop and are cleaned up (Ctrl-C again quits at once)\n".utf8))
                task.cancel()
            }
            source.resume()
            return source
        }
        defer {
            for source in sources { source.cancel() }
        }
        do {
            try await task.value
        } catch where task.isCancelled {
            // Whatever the cancelled work threw, this is what happened.
            FileHandle.standardError.write(Data(
                "run \(runID) was cancelled; its stored results stay, and `fanout attach \(runID)` resumes it\n".utf8))
            throw ExitCode(130)
        }
    }
}
