import Foundation
import Synchronization

/// Collects the attempts of a run from its events (``RunEvent/launched(_:)``, ``RunEvent/attempt(_:)``) as they
/// happen: one record per attempt, so its size grows with attempts, not files.
final class AttemptTimeline: Sendable {
    private let attempts = Mutex<[AttemptID: AttemptRecord]>([:])
    private let now: @Sendable () -> Int64

    init(now: @escaping @Sendable () -> Int64 = { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }) {
        self.now = now
    }

    func observe(_ event: RunEvent) {
        let time = now()
        attempts.withLock { attempts in
            switch event {
            case .launched(let launch):
                attempts[launch.id] = AttemptRecord(
                    shard: launch.id.shard, attempt: launch.id.number, backup: launch.isBackup,
                    memoryBytes: launch.memoryBytes, launched: time)
            case .attempt(.running(let id)):
                if attempts[id]?.running == nil { attempts[id]?.running = time }
            case .attempt(.exited(let id, let exit)):
                attempts[id]?.ended = time
                attempts[id]?.outcome = exit.outcome
                attempts[id]?.reason = exit.reason.map { String($0.prefix(2000)) }
            case .attempt(.pending), .attempt(.placeLost), .workers, .notice, .backend:
                break
            }
        }
    }

    /// The attempts seen so far, by shard and attempt.
    var records: [AttemptRecord] {
        attempts.withLock { $0.values.sorted { ($0.shard, $0.attempt) < ($1.shard, $1.attempt) } }
    }
}
