/// Jobs that create no pods because the cluster refuses them: the Job controller's `FailedCreate` events say why,
/// and a refusal that waiting does not cure (Pod Security admission) stops the run at once with the fail policy.
extension KubernetesRunTracker {
    /// How long a Job may go without pods before its events are read: the Job controller creates the first ones
    /// within about a second, so a Job without any after this has most likely been refused.
    static let creationReadDelay: Duration = .seconds(2)
    /// The longest wait between two reads of the events; the waits double up to it.
    static let maxCreationReadInterval: Duration = .seconds(60)

    /// The Jobs without pods for at least ``creationReadDelay``, when their events are due to be read: one list
    /// request for all of them, then again after a wait that doubles each time.
    mutating func creationReads(now: ContinuousClock.Instant) -> [Action] {
        guard podsListed, !creationReadsStopped, !aborted, nextCreationRead.map({ now >= $0 }) ?? true else {
            return []
        }
        let waiting = jobs.keys.sorted().filter { name in
            guard let record = jobs[name] else { return false }
            return !record.finished && !record.hadPods && now - record.since >= Self.creationReadDelay
        }
        guard !waiting.isEmpty else { return [] }
        nextCreationRead = now + creationReadInterval
        creationReadInterval = min(creationReadInterval * 2, Self.maxCreationReadInterval)
        return [.readCreationFailures(jobs: waiting)]
    }

    /// What the events of Jobs without pods say: each reason reported once; with the fail policy, a refusal that
    /// waiting does not cure stops the run.
    mutating func creationFailed(_ failures: [PodCreationFailure]) -> [Action] {
        var actions: [Action] = []
        for failure in failures {
            guard let record = jobs[failure.job], !record.finished, !record.hadPods else { continue }
            if reportedCreationFailures.insert(failure.reason).inserted { actions.append(.cannotCreate(failure)) }
            if failure.isDefinitive, startFailurePolicy == .fail, !aborted {
                aborted = true
                actions.append(.abortCannotCreate(failure))
            }
        }
        return actions
    }

    /// The events cannot be read: Jobs without pods are left to the Pending watchdog.
    mutating func stopCreationReads() { creationReadsStopped = true }
}
