/// Owns every attempt of a run's shards: which shard runs when and where, its budgets for failures, disruptions and
/// OOM kills, backups for stragglers, and cancelling the attempts that lost.
///
/// A pure state machine: events in (``handle(_:now:)``), actions out; the caller performs the actions (starts and
/// cancels attempts on backends) and feeds back what the backends report, the files each shard has stored, and the
/// passing of time. Nothing here does I/O, so every rule is tested without any.
public struct AttemptScheduler: Sendable {
    /// Somewhere attempts run: a backend, with what it can do.
    public struct Place: Sendable, Hashable {
        /// What messages call it (a cluster's name); empty for a run's only place.
        public var name: String
        /// Attempts at once.
        public var slots: Int
        /// Whether two attempts of one shard may run at once here (backups need it).
        public var runsAttemptsSideBySide: Bool
        /// The memory limit of an attempt, in bytes, when this place can set one per attempt (so an OOM-killed shard
        /// can run again with more); `nil` when it cannot.
        public var memoryBytes: Int64?
        /// Its share of the shards against the other places': launches go where live attempts per unit of weight
        /// are fewest. Default 1.
        public var weight: Double
        /// Whether attempts start here only on ticks, so that those of a moment go out as one launch (one Job on
        /// Kubernetes) rather than one by one as attempts end. Default `false`.
        public var batchesLaunches: Bool

        public init(
            name: String = "", slots: Int, runsAttemptsSideBySide: Bool = true, memoryBytes: Int64? = nil,
            weight: Double = 1, batchesLaunches: Bool = false
        ) {
            self.name = name
            self.slots = max(1, slots)
            self.runsAttemptsSideBySide = runsAttemptsSideBySide
            self.memoryBytes = memoryBytes
            self.weight = weight > 0 ? weight : 1
            self.batchesLaunches = batchesLaunches
        }
    }

    /// What the caller does next.
    public enum Action: Sendable, Hashable {
        /// Start these attempts (grouped by place by the caller).
        case launch([AttemptLaunch])
        /// Stop these attempts; each still reports its exit.
        case cancel([AttemptID])
        /// Something a person should see: "shard 7: OOMKilled at 2 GiB, running again at 4 GiB".
        case notice(String)
    }

    /// What the caller tells the scheduler.
    public enum Input: Sendable, Hashable {
        case attempt(AttemptEvent)
        /// Files of the shard stored so far, by all its attempts together.
        case progress(shard: Int, filesStored: Int)
        /// Time passed: re-run shards whose backoff is over, look for stragglers.
        case tick
    }

    private let places: [Place]
    private let policy: SchedulingPolicy
    /// Seconds to wait before a shard's attempt after its `failures`-th failure.
    private let backoff: @Sendable (_ failures: Int) -> Double
    private var shards: [Int: ShardState]
    /// Shards in the order they first wait to start.
    private let order: [Int]
    /// Set once the run starts nothing more (drained or cancelled).
    private var stopped = false
    /// Places whose attempts waited past their backend's pending timeout: while another place can take shards,
    /// they get no more (until one of their attempts starts after all), and their attempts that had not started
    /// were moved.
    private var stalled = Set<Int>()
    /// Places that stopped working for the run: stalled for good.
    private var lost = Set<Int>()
    /// Attempts cancelled because their place stalled, with the place's name: their end says so.
    private var withdrawnFrom: [AttemptID: String] = [:]

    /// - Parameters:
    ///   - files: each shard to run, with its number of files.
    ///   - places: where attempts can run; launches name a place by its index here.
    ///   - backoff: the pause before a shard runs again after its n-th failure, in seconds. Default none.
    public init(
        files: [Int: Int], places: [Place], policy: SchedulingPolicy,
        backoff: @escaping @Sendable (_ failures: Int) -> Double = { _ in 0 }
    ) {
        precondition(!places.isEmpty, "a scheduler needs somewhere to run attempts")
        self.places = places
        self.policy = policy
        self.backoff = backoff
        order = files.keys.sorted()
        shards = files.mapValues { ShardState(files: $0) }
    }

    /// Whether every shard has succeeded or failed for good and no attempt is left running.
    public var isFinished: Bool {
        shards.values.allSatisfy { $0.live.isEmpty && ($0.phase.isDone || stopped) }
    }

    /// The shards that failed for good, with why.
    public var failedShards: [Int: String] {
        shards.compactMapValues { if case .failed(let reason) = $0.phase { reason } else { nil } }
    }

    /// What happened to each shard that did not simply succeed at its first attempt: "attempt 1 OOMKilled at 2 GiB;
    /// attempt 2 succeeded at 4 GiB".
    public var shardHistories: [Int: String] {
        shards.compactMapValues { $0.isNotable ? $0.history.joined(separator: "; ") : nil }
    }

    /// Attempts running or waiting to start now.
    public var liveAttempts: [AttemptID] { shards.values.flatMap(\.live.keys).sorted() }

    /// Starts nothing more (no shard, retry or backup) and lets the live attempts finish: GNU parallel's
    /// `--halt soon`. The scheduler is finished once they have.
    public mutating func drain() -> [Action] {
        stopped = true
        return []
    }

    /// Stops the run: cancels every live attempt and starts nothing more.
    public mutating func cancelAll() -> [Action] {
        stopped = true
        let live = liveAttempts
        return live.isEmpty ? [] : [.cancel(live)]
    }

    /// Takes one input at `now` (seconds on any steady clock) and says what to do.
    public mutating func handle(_ input: Input, now: Double) -> [Action] {
        var actions: [Action] = []
        switch input {
        case .attempt(.pending(let id, let reason)):
            actions += withdraw(from: id, reason: reason, now: now)
        case .attempt(.placeLost(let place, let reason)):
            lost.insert(place)
            if places.indices.contains(place), stalled.insert(place).inserted {
                let others = places.indices.filter { !stalled.contains($0) }.map(name).joined(separator: ", ")
                actions.append(.notice(
                    "\(name(place)) is out of the run: \(reason)"
                        + (others.isEmpty ? "" : "; its shards move to \(others)")))
            }
        case .attempt(.running(let id)):
            shards[id.shard]?.live[id]?.runningSince = now
            // A pod started there after all: the place takes shards again, unless it was lost.
            if let place = shards[id.shard]?.live[id]?.launch.place, !lost.contains(place) { stalled.remove(place) }
        case .attempt(.exited(let id, let exit)):
            actions += ended(id, exit, now: now)
        case .progress(let shard, let stored):
            if let current = shards[shard]?.filesStored, stored > current { shards[shard]?.filesStored = stored }
        case .tick:
            break
        }
        guard !stopped else { return actions }
        let ticking = input == .tick
        // A straggler's backup goes before shards that wait: by the rule it would otherwise finish last.
        actions += launchBackups(now: now, ticking: ticking)
        actions += launchReady(now: now, ticking: ticking)
        return actions
    }
}

extension AttemptScheduler {
    /// One shard's attempts and budgets.
    struct ShardState: Sendable {
        enum Phase: Sendable {
            /// Waits to start until `readyAt` (after a backoff) unless an attempt is live.
            case waiting(readyAt: Double)
            case running
            case succeeded
            case failed(String)

            var isDone: Bool {
                switch self {
                case .succeeded, .failed: true
                case .waiting, .running: false
                }
            }
        }

        struct Live: Sendable {
            let launch: AttemptLaunch
            let launchedAt: Double
            var runningSince: Double?
        }

        let files: Int
        var filesStored = 0
        var phase = Phase.waiting(readyAt: 0)
        var live: [AttemptID: Live] = [:]
        var nextNumber = 1
        var failures = 0
        var disruptions = 0
        /// The memory of the next attempt, once an OOM kill raised it.
        var memoryBytes: Int64?
        /// How the next attempt runs after a crash.
        var isolation: CrashIsolation?
        var backedUp = false
        var history: [String] = []
        var isNotable = false
        /// How long the winning attempt took.
        var duration: Double?
    }

    private mutating func ended(_ id: AttemptID, _ exit: AttemptExit, now: Double) -> [Action] {
        guard var shard = shards[id.shard], let attempt = shard.live.removeValue(forKey: id) else { return [] }
        defer { shards[id.shard] = shard }
        let memory = attempt.launch.memoryBytes
        let at = memory.map { " at \(MemoryText.describe($0))" } ?? ""
        let name = attempt.launch.isBackup ? "backup attempt \(id.number)" : "attempt \(id.number)"
        // Another attempt already decided the shard: what this one did no longer matters.
        guard !shard.phase.isDone else {
            if exit == .cancelled { shard.history.append("\(name) cancelled") }
            return []
        }
        var actions: [Action] = []
        func settle(failingWith reason: String?) {
            guard shard.live.isEmpty else { return }
            if let reason {
                shard.phase = .failed(reason)
            } else {
                shard.phase = .waiting(readyAt: now)
            }
        }
        switch exit {
        case .succeeded:
            shard.phase = .succeeded
            shard.duration = now - (attempt.runningSince ?? attempt.launchedAt)
            shard.history.append("\(name) succeeded\(at)")
            let losers = shard.live.keys.sorted()
            if !losers.isEmpty { actions.append(.cancel(losers)) }
        case .cancelled:
            if let place = withdrawnFrom.removeValue(forKey: id) {
                shard.history.append("\(name) withdrawn from \(place) unstarted")
            } else {
                shard.history.append("\(name) cancelled")
            }
            settle(failingWith: nil)
        case .failed(let reason):
            shard.isNotable = true
            shard.failures += 1
            shard.history.append("\(name) failed\(at): \(reason)")
            if shard.failures > policy.retries {
                let tries = policy.retries == 0 ? "no retries" : "\(policy.retries) retr\(policy.retries == 1 ? "y" : "ies")"
                settle(failingWith: "\(reason) (failed \(shard.failures) time\(shard.failures == 1 ? "" : "s"), \(tries) allowed)")
            } else if shard.live.isEmpty {
                shard.phase = .waiting(readyAt: now + backoff(shard.failures))
            }
        case .disrupted(let reason):
            shard.isNotable = true
            shard.disruptions += 1
            shard.history.append("\(name) disrupted: \(reason)")
            if shard.disruptions > policy.disruptionBudget {
                settle(failingWith: "disrupted \(shard.disruptions) times, more than its disruption budget of "
                    + "\(policy.disruptionBudget) (last: \(reason))")
            } else {
                settle(failingWith: nil)
            }
        case .oomKilled(let reason):
            shard.isNotable = true
            let place = places[attempt.launch.place]
            let cap = policy.memory.maximumBytes ?? memory.map { $0 * 4 }
            if let memory, let cap, place.memoryBytes != nil, memory < cap {
                let raised = min(cap, Int64((Double(memory) * policy.memory.factor).rounded(.up)))
                shard.memoryBytes = raised
                shard.history.append("\(name) OOMKilled\(at)")
                actions.append(.notice(
                    "shard \(id.shard): OOMKilled\(at), running again at \(MemoryText.describe(raised))"))
                settle(failingWith: nil)
            } else {
                // At the cap, or with no limit to raise: an ordinary failure.
                let why = memory == nil ? "OOMKilled: \(reason)" : "OOMKilled\(at), the most memory allowed"
                return actions + ended(afterCounting: id, as: why, shard: &shard, now: now)
            }
        case .crashed(let reason):
            shard.isNotable = true
            shard.history.append("\(name) crashed: \(reason)")
            if attempt.launch.isolation != nil {
                // Files ran one at a time: the next attempt blames the first file without a result, and each such
                // crash removes one file, so it uses no retry.
                shard.isolation = CrashIsolation(crashMessage: reason)
                settle(failingWith: nil)
            } else {
                shard.isolation = CrashIsolation()
                shard.failures += 1
                if shard.failures > policy.retries {
                    settle(failingWith: "\(reason) (crashed; \(policy.retries) retries allowed)")
                } else if shard.live.isEmpty {
                    shard.phase = .waiting(readyAt: now)
                }
            }
        case .misconfigured(let reason), .exhausted(let reason):
            shard.isNotable = true
            shard.history.append("\(name) failed for good: \(reason)")
            shard.phase = .failed(reason)
            let others = shard.live.keys.sorted()
            if !others.isEmpty { actions.append(.cancel(others)) }
        }
        return actions
    }

    /// An OOM kill that counts as a failure.
    private mutating func ended(
        afterCounting id: AttemptID, as reason: String, shard: inout ShardState, now: Double
    ) -> [Action] {
        shard.failures += 1
        shard.history.append("attempt \(id.number) \(reason)")
        if shard.failures > policy.retries {
            if shard.live.isEmpty { shard.phase = .failed("\(reason) (failed \(shard.failures) times)") }
        } else if shard.live.isEmpty {
            shard.phase = .waiting(readyAt: now + backoff(shard.failures))
        }
        return []
    }

    /// Free slots per place; none between ticks at places that batch their launches.
    private func freeSlots(ticking: Bool) -> [Int] {
        var used = Array(repeating: 0, count: places.count)
        for shard in shards.values { for attempt in shard.live.values { used[attempt.launch.place] += 1 } }
        return places.indices.map { places[$0].batchesLaunches && !ticking ? 0 : places[$0].slots - used[$0] }
    }

    private mutating func launchReady(now: Double, ticking: Bool) -> [Action] {
        var free = freeSlots(ticking: ticking)
        var live = liveCounts
        var launches: [AttemptLaunch] = []
        for index in order {
            guard let shard = shards[index], shard.live.isEmpty, case .waiting(let readyAt) = shard.phase,
                readyAt <= now, let place = placeFor(free: free, live: live)
            else { continue }
            free[place] -= 1
            live[place] += 1
            launches.append(launch(shard: index, place: place, backup: false, now: now))
        }
        return launches.isEmpty ? [] : [.launch(launches)]
    }

    /// Live attempts per place.
    private var liveCounts: [Int] {
        var counts = Array(repeating: 0, count: places.count)
        for shard in shards.values { for attempt in shard.live.values { counts[attempt.launch.place] += 1 } }
        return counts
    }

    /// The place with a free slot whose live attempts per unit of weight are fewest (ties: the first), avoiding
    /// stalled places while another can take the shard.
    private func placeFor(free: [Int], live: [Int]) -> Int? {
        let open = places.indices.filter { free[$0] > 0 }
        let preferred = open.filter { !stalled.contains($0) }
        let candidates = preferred.isEmpty && stalled.count == places.count ? open : preferred
        return candidates.min { Double(live[$0] + 1) / places[$0].weight < Double(live[$1] + 1) / places[$1].weight }
    }

    /// An attempt waited past its backend's pending timeout (no node for its pod): when another place is not
    /// stalled, its place is, and every attempt there that has not started is cancelled, so its shard runs
    /// elsewhere. The cancels use no budget.
    private mutating func withdraw(from id: AttemptID, reason: String?, now: Double) -> [Action] {
        guard !stopped, let attempt = shards[id.shard]?.live[id] else { return [] }
        let place = attempt.launch.place
        guard !stalled.contains(place),
            places.indices.contains(where: { $0 != place && !stalled.contains($0) })
        else { return [] }
        stalled.insert(place)
        let unstarted = shards.values.flatMap { shard in
            shard.live.filter { $0.value.launch.place == place && $0.value.runningSince == nil }.keys
        }
        let moved = unstarted.sorted()
        let from = name(place)
        for attemptID in moved {
            withdrawnFrom[attemptID] = from
            shards[attemptID.shard]?.isNotable = true
        }
        guard !moved.isEmpty else { return [] }
        let others = places.indices.filter { $0 != place && !stalled.contains($0) }.map(name).joined(separator: ", ")
        return [
            .cancel(moved),
            .notice(
                "\(name(place)): pods waited too long to start\(reason.map { " (\($0))" } ?? ""); "
                    + "\(moved.count) shard\(moved.count == 1 ? "" : "s") not started there move to \(others)"),
        ]
    }

    private func name(_ place: Int) -> String {
        places[place].name.isEmpty ? "place \(place)" : places[place].name
    }

    private mutating func launch(shard index: Int, place: Int, backup: Bool, now: Double) -> AttemptLaunch {
        var shard = shards[index]!
        let memory = places[place].memoryBytes.map { shard.memoryBytes ?? $0 }
        let launch = AttemptLaunch(
            id: AttemptID(shard: index, number: shard.nextNumber), place: place, memoryBytes: memory, isBackup: backup,
            isolation: shard.isolation)
        shard.nextNumber += 1
        shard.live[launch.id] = ShardState.Live(launch: launch, launchedAt: now)
        shard.phase = .running
        if backup {
            shard.backedUp = true
            shard.isNotable = true
        }
        shards[index] = shard
        return launch
    }

    /// Backups for stragglers, by the rule of ``SchedulingPolicy/Backups``.
    private mutating func launchBackups(now: Double, ticking: Bool) -> [Action] {
        guard let rule = policy.backups else { return [] }
        let waiting = shards.values.filter { if case .waiting = $0.phase { $0.live.isEmpty } else { false } }.count
        let durations = shards.values.compactMap(\.duration).sorted()
        guard durations.count >= rule.minimumFinished else { return [] }
        let median = durations[durations.count / 2]
        // When the shards that wait would be done, at the median pace, on every slot.
        let slots = places.filter(\.runsAttemptsSideBySide).map(\.slots).reduce(0, +)
        let drained = now + (Double(waiting) / Double(max(1, slots)) + 1) * median
        var candidates: [(shard: Int, projected: Double)] = []
        for (index, shard) in shards where !shard.backedUp && shard.live.count == 1 {
            guard case .running = shard.phase, let started = shard.live.values.first?.runningSince else { continue }
            let elapsed = now - started
            let projected: Double
            if shard.filesStored > 0 {
                projected = elapsed * Double(shard.files) / Double(shard.filesStored)
                guard elapsed >= median && projected > rule.slowdown * median else { continue }
            } else {
                // Nothing stored yet to judge its pace by: overdue once past the rule's multiple of the median,
                // and taken to be at most half done.
                guard elapsed > rule.slowdown * median else { continue }
                projected = 2 * elapsed
            }
            if waiting == 0 || started + projected > drained { candidates.append((index, projected)) }
        }
        var free = freeSlots(ticking: ticking)
        var launches: [AttemptLaunch] = []
        for candidate in candidates.sorted(by: { ($0.projected, -$0.shard) > ($1.projected, -$1.shard) }) {
            guard let place = free.indices.first(where: { free[$0] > 0 && places[$0].runsAttemptsSideBySide })
            else { break }
            free[place] -= 1
            launches.append(launch(shard: candidate.shard, place: place, backup: true, now: now))
        }
        guard !launches.isEmpty else { return [] }
        return [.launch(launches)] + launches.map {
            .notice("shard \($0.id.shard) is far behind the others: backup attempt \($0.id.number) started")
        }
    }
}

/// Memory sizes as people write them for Kubernetes: `512Mi`, `2Gi`, else bytes.
enum MemoryText {
    static func describe(_ bytes: Int64) -> String {
        for (unit, size) in [("Ti", Int64(1) << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)]
        where bytes >= size && bytes % size == 0 {
            return "\(bytes / size)\(unit)"
        }
        if bytes >= 1 << 20 { return "\(bytes / (1 << 20))Mi" }
        return "\(bytes)"
    }
}
