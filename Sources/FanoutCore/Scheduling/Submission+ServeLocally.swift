import Synchronization

extension Submission {
    /// Serves `queue` with attempts that are async functions in this process (a shard run in a task, a worker
    /// process awaited): each launch runs `run` in a task of its own, reported running and then exited with
    /// what `run` returns; a cancel cancels that task, and `run` must then stop its worker and return
    /// ``AttemptExit/cancelled``. Returns once the requests have ended and every attempt has ended; when cancelled,
    /// cancels every attempt and still waits for them.
    ///
    /// - Parameter onCount: called with the number of attempts running, each time it changes.
    public func serveLocally(
        _ queue: AttemptQueue, onCount: (@Sendable (Int) -> Void)? = nil,
        run: @escaping @Sendable (AttemptLaunch) async -> AttemptExit
    ) async {
        let attempts = LocalAttempts()
        let count: @Sendable () -> Void = { onCount?(attempts.state.withLock { $0.running.count }) }
        await withTaskCancellationHandler {
            for await request in queue.requests {
                switch request {
                case .launch(let launches):
                    for launch in launches {
                        let task = Task {
                            queue.report(.running(launch.id))
                            let exit = await run(launch)
                            attempts.state.withLock { $0.ended(launch.id) }
                            count()
                            queue.report(.exited(launch.id, exit))
                        }
                        attempts.state.withLock { $0.started(launch.id, task) }
                        count()
                    }
                case .cancel(let ids):
                    let tasks = attempts.state.withLock { attempts in ids.compactMap { attempts.running[$0] } }
                    for task in tasks { task.cancel() }
                }
                if Task.isCancelled { break }
            }
        } onCancel: {
            for task in attempts.state.withLock({ Array($0.running.values) }) { task.cancel() }
        }
        // Cancelled or finished: every attempt stops before this returns.
        let left = attempts.state.withLock { attempts in
            if Task.isCancelled { for task in attempts.running.values { task.cancel() } }
            return Array(attempts.running.values)
        }
        for task in left { await task.value }
    }
}

/// The attempts a backend runs locally, by id.
private final class LocalAttempts: Sendable {
    let state = Mutex(Attempts())
}

/// An attempt may end before it is listed.
private struct Attempts {
    var running: [AttemptID: Task<Void, Never>] = [:]
    var endedFirst: Set<AttemptID> = []

    mutating func started(_ id: AttemptID, _ task: Task<Void, Never>) {
        if endedFirst.remove(id) == nil { running[id] = task }
    }

    mutating func ended(_ id: AttemptID) {
        if running.removeValue(forKey: id) == nil { endedFirst.insert(id) }
    }
}
