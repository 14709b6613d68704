@testable import FanoutCore
import Testing

/// The scheduler's rules, driven event by event with no I/O.
@Suite struct AttemptSchedulerTests {
    /// The attempts an action list launches.
    func launches(_ actions: [AttemptScheduler.Action]) -> [AttemptLaunch] {
        actions.flatMap { action -> [AttemptLaunch] in
            guard case .launch(let launches) = action else { return [] }
            return launches
        }
    }

    func cancels(_ actions: [AttemptScheduler.Action]) -> [AttemptID] {
        actions.flatMap { action -> [AttemptID] in
            guard case .cancel(let ids) = action else { return [] }
            return ids
        }
    }

    func notices(_ actions: [AttemptScheduler.Action]) -> [String] {
        actions.compactMap { action -> String? in
            guard case .notice(let text) = action else { return nil }
            return text
        }
    }

    func files(_ count: Int) -> [Int: Int] { Dictionary(uniqueKeysWithValues: (0..<count).map { ($0, 10) }) }

    @Test func attemptsFillTheSlotsAndTheNextShardStartsAsOneEnds() {
        var scheduler = AttemptScheduler(files: files(5), places: [.init(slots: 2)], policy: .init(backups: nil))
        let first = launches(scheduler.handle(.tick, now: 0))
        #expect(first.map(\.id) == [AttemptID(shard: 0, number: 1), AttemptID(shard: 1, number: 1)])
        let next = launches(scheduler.handle(.attempt(.exited(first[0].id, .succeeded)), now: 1))
        #expect(next.map(\.id) == [AttemptID(shard: 2, number: 1)])
        #expect(!scheduler.isFinished)
    }

    @Test func aShardThatFailsForRealUsesExactlyItsRetriesWithBackoff() {
        var scheduler = AttemptScheduler(
            files: files(1), places: [.init(slots: 4)], policy: .init(retries: 2, backups: nil),
            backoff: { failures in Double(failures) * 10 })
        var attempt = launches(scheduler.handle(.tick, now: 0))[0]
        var now = 0.0
        for failures in 1...2 {
            now += 1
            #expect(launches(scheduler.handle(.attempt(.exited(attempt.id, .failed("exit 1"))), now: now)).isEmpty,
                "it backs off first")
            #expect(launches(scheduler.handle(.tick, now: now + Double(failures) * 10 - 0.5)).isEmpty)
            now += Double(failures) * 10
            attempt = launches(scheduler.handle(.tick, now: now))[0]
            #expect(attempt.id == AttemptID(shard: 0, number: failures + 1))
        }
        _ = scheduler.handle(.attempt(.exited(attempt.id, .failed("exit 1"))), now: now + 1)
        #expect(scheduler.isFinished)
        #expect(scheduler.failedShards[0] == "exit 1 (failed 3 times, 2 retries allowed)")
    }

    @Test func preemptionsNeverUseARetry() {
        var scheduler = AttemptScheduler(files: files(1), places: [.init(slots: 1)], policy: .init(retries: 0, backups: nil))
        var attempt = launches(scheduler.handle(.tick, now: 0))[0]
        for round in 1...5 {
            attempt = launches(scheduler.handle(.attempt(.exited(attempt.id, .disrupted("preempted"))), now: Double(round)))[0]
        }
        _ = scheduler.handle(.attempt(.exited(attempt.id, .succeeded)), now: 9)
        #expect(scheduler.isFinished && scheduler.failedShards.isEmpty)
        #expect(attempt.id.number == 6)
        #expect(scheduler.shardHistories[0]?.contains("attempt 5 disrupted: preempted") == true)
    }

    @Test func moreDisruptionsThanTheBudgetFailTheShardNamingTheBudget() {
        var scheduler = AttemptScheduler(
            files: files(1), places: [.init(slots: 1)], policy: .init(retries: 3, disruptionBudget: 2, backups: nil))
        var attempt = launches(scheduler.handle(.tick, now: 0))[0]
        for round in 1...2 {
            attempt = launches(scheduler.handle(.attempt(.exited(attempt.id, .disrupted("evicted"))), now: Double(round)))[0]
        }
        #expect(launches(scheduler.handle(.attempt(.exited(attempt.id, .disrupted("evicted"))), now: 3)).isEmpty)
        #expect(scheduler.failedShards[0] == "disrupted 3 times, more than its disruption budget of 2 (last: evicted)")
    }

    @Test func anOOMKillRunsTheShardAgainWithMoreMemoryUntilTheCapWhereItUsesARetry() {
        let gib: Int64 = 1 << 30
        var scheduler = AttemptScheduler(
            files: files(1), places: [.init(slots: 1, memoryBytes: gib)],
            policy: .init(retries: 1, backups: nil, memory: .init(factor: 2, maximumBytes: 3 * gib)))
        let first = launches(scheduler.handle(.tick, now: 0))[0]
        #expect(first.memoryBytes == gib)
        let actions = scheduler.handle(.attempt(.exited(first.id, .oomKilled("OOMKilled"))), now: 1)
        let second = launches(actions)[0]
        #expect(second.memoryBytes == 2 * gib)
        #expect(notices(actions) == ["shard 0: OOMKilled at 1Gi, running again at 2Gi"])
        let third = launches(scheduler.handle(.attempt(.exited(second.id, .oomKilled("OOMKilled"))), now: 2))[0]
        #expect(third.memoryBytes == 3 * gib, "raised to the cap, still no retry used")
        let fourth = launches(scheduler.handle(.attempt(.exited(third.id, .oomKilled("OOMKilled"))), now: 3))[0]
        #expect(fourth.memoryBytes == 3 * gib, "killed at the cap: the one retry runs")
        _ = scheduler.handle(.attempt(.exited(fourth.id, .succeeded)), now: 4)
        #expect(scheduler.isFinished && scheduler.failedShards.isEmpty)
        #expect(scheduler.shardHistories[0]?.hasSuffix("attempt 4 succeeded at 3Gi") == true, "\(scheduler.shardHistories)")
    }

    @Test func aStragglerGetsABackupThatWinsAndTheOriginalIsCancelled() {
        var scheduler = AttemptScheduler(files: files(5), places: [.init(slots: 2)], policy: .init())
        var running = launches(scheduler.handle(.tick, now: 0))
        for launch in running { _ = scheduler.handle(.attempt(.running(launch.id)), now: 0) }
        let straggler = running[0].id
        // Shards 1 to 4 take 1 s each on the other slot; shard 0 stores 1 file of 10.
        var other = running[1]
        _ = scheduler.handle(.progress(shard: 0, filesStored: 1), now: 0.5)
        var now = 0.0
        var actions: [AttemptScheduler.Action] = []
        for _ in 1...4 {
            now += 1
            actions = scheduler.handle(.attempt(.exited(other.id, .succeeded)), now: now)
            running = launches(actions).filter { !$0.isBackup }
            guard let next = running.first else { break }
            _ = scheduler.handle(.attempt(.running(next.id)), now: now)
            other = next
        }
        // Once the last other shard is done, no shard waits and a slot is free: shard 0 projects to about 40 s
        // (1 file of 10 in 4 s) where the median shard took 1 s, so it gets a backup.
        let backup = launches(actions)
        #expect(backup.map(\.id) == [AttemptID(shard: 0, number: 2)] && backup.first?.isBackup == true, "\(actions)")
        #expect(notices(actions).first?.contains("backup attempt 2") == true)
        #expect(scheduler.liveAttempts == [straggler, backup[0].id])
        _ = scheduler.handle(.attempt(.running(backup[0].id)), now: now + 0.2)
        #expect(launches(scheduler.handle(.tick, now: now + 5)).isEmpty, "one backup per shard")
        let won = scheduler.handle(.attempt(.exited(backup[0].id, .succeeded)), now: now + 1.5)
        #expect(cancels(won) == [straggler])
        #expect(!scheduler.isFinished, "until the cancelled attempt has stopped")
        _ = scheduler.handle(.attempt(.exited(straggler, .cancelled)), now: now + 1.6)
        #expect(scheduler.isFinished && scheduler.failedShards.isEmpty)
    }

    @Test func noBackupWhileShardsWaitOrWhereAttemptsCannotRunSideBySide() {
        var scheduler = AttemptScheduler(
            files: files(4), places: [.init(slots: 3, runsAttemptsSideBySide: false)], policy: .init())
        let first = launches(scheduler.handle(.tick, now: 0))
        for launch in first { _ = scheduler.handle(.attempt(.running(launch.id)), now: 0) }
        for (index, launch) in first.dropFirst().enumerated() {
            let next = launches(scheduler.handle(.attempt(.exited(launch.id, .succeeded)), now: Double(index + 1)))
            for launch in next { _ = scheduler.handle(.attempt(.running(launch.id)), now: Double(index + 1)) }
        }
        #expect(launches(scheduler.handle(.tick, now: 100)).allSatisfy { !$0.isBackup })
    }

    @Test func twoPlacesShareTheShardsAndBackupsGoWhereTheyCanRun() {
        var scheduler = AttemptScheduler(
            files: files(6),
            places: [.init(slots: 2, runsAttemptsSideBySide: false), .init(slots: 2, runsAttemptsSideBySide: true)],
            policy: .init(backups: .init(slowdown: 2, minimumFinished: 3)))
        let first = launches(scheduler.handle(.tick, now: 0))
        #expect(first.map(\.place) == [0, 0, 1, 1], "both places fill up: \(first)")
        for launch in first { _ = scheduler.handle(.attempt(.running(launch.id)), now: 0) }
        // Shard 0 (on place 0) straggles; the others finish at 1 s and shards 4 and 5 take their slots.
        var now = 1.0
        var live = first.dropFirst().map(\.id)
        while let id = live.first {
            live.removeFirst()
            let next = launches(scheduler.handle(.attempt(.exited(id, .succeeded)), now: now))
            for launch in next {
                _ = scheduler.handle(.attempt(.running(launch.id)), now: now)
                live.append(launch.id)
            }
            now += 1
        }
        let backup = launches(scheduler.handle(.tick, now: now + 20))
        #expect(backup.count == 1 && backup.first?.place == 1 && backup.first?.id.shard == 0, "\(backup)")
    }

    @Test func cancellingStopsEveryLiveAttemptBackupsIncludedAndStartsNothing() {
        var scheduler = AttemptScheduler(files: files(3), places: [.init(slots: 2)], policy: .init())
        let first = launches(scheduler.handle(.tick, now: 0))
        #expect(Set(cancels(scheduler.cancelAll())) == Set(first.map(\.id)))
        #expect(launches(scheduler.handle(.attempt(.exited(first[0].id, .cancelled)), now: 1)).isEmpty)
        #expect(!scheduler.isFinished)
        _ = scheduler.handle(.attempt(.exited(first[1].id, .cancelled)), now: 1)
        #expect(scheduler.isFinished && scheduler.liveAttempts.isEmpty)
    }

    @Test func aMisconfiguredWorkerFailsItsShardAtOnce() {
        var scheduler = AttemptScheduler(files: files(1), places: [.init(slots: 1)], policy: .init(retries: 5))
        let attempt = launches(scheduler.handle(.tick, now: 0))[0]
        #expect(launches(scheduler.handle(.attempt(.exited(attempt.id, .misconfigured("another build"))), now: 1)).isEmpty)
        #expect(scheduler.failedShards[0] == "another build" && scheduler.isFinished)
    }
}
