import ArgumentParser
import Dispatch
import Foundation
import Synchronization

/// Runs the part of a command that drives a run so that Ctrl-C (SIGINT) and SIGTERM stop it cleanly.
///
/// The first signal cancels the work: the run stops its workers (and, on Kubernetes, deletes its Jobs and waits
/// for their pods to go) before the command exits with status 130. A second Ctrl-C, a second or more later, quits at
/// once.
enum Interruption {
    /// - Parameter state: the run's state prefix, for the command that resumes it.
    static func run(runID: String, state: String, _ work: @escaping @Sendable () async throws -> Void) async throws {
        let task = Task { try await work() }
        let firstSignal = Mutex<ContinuousClock.Instant?>(nil)
        let sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                let now = ContinuousClock.now
                let first = firstSignal.withLock { first in
                    defer { first = first ?? now }
                    return first
                }
                guard let first else {
                    Terminal.shared.note(
                        "stopping run \(runID): its workers stop and are cleaned up (Ctrl-C again quits at once)",
                        afterKeypress: true)
                    task.cancel()
                    return
                }
                // Only a person pressing Ctrl-C again quits without cleaning up: a second SIGTERM, or a signal sent
                // twice at once (as `timeout` does, to the process and to its group), waits for the clean-up.
                guard number == SIGINT, now - first >= .seconds(1) else { return }
                Terminal.shared.endStatus(with: "stopped without cleaning up", afterKeypress: true)
                exit(130)
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
            Terminal.shared.note(
                "run \(runID) was cancelled; its stored results stay, and `fanout attach \(runID) --state \(state)` "
                    + "resumes it")
            throw ExitCode(130)
        }
    }
}
