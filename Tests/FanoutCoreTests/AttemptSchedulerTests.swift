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

    @Test func placesTakeShardsByWeightAndAStalledPlaceLosesItsUnstartedAttempts() {
        let places: [AttemptScheduler.Place] = [
            .init(name: "spot", slots: 100, weight: 3), .init(name: "on-demand", slots: 100, weight: 1),
        ]
        var scheduler = AttemptScheduler(files: files(8), places: places, policy: .init(backups: nil))
        let first = launches(scheduler.handle(.tick, now: 0))
        #expect(first.filter { $0.place == 0 }.count == 6 && first.filter { $0.place == 1 }.count == 2, "\(first)")
        // Two of spot's attempts started; then one of its pods waits past the backend's pending timeout.
        let onSpot = first.filter { $0.place == 0 }
        for launch in onSpot.prefix(2) { _ = scheduler.handle(.attempt(.running(launch.id)), now: 1) }
        let stuck = scheduler.handle(.attempt(.pending(onSpot[2].id, reason: "0/3 nodes are available")), now: 5)
        let withdrawn = Array(onSpot.dropFirst(2).map(\.id))
        #expect(cancels(stuck) == withdrawn, "the four that had not started")
        #expect(notices(stuck) == [
            "spot: pods waited too long to start (0/3 nodes are available); 4 shards not started there move to on-demand"
        ])
        // Once they have stopped, they run on the other place, and nothing new goes to spot.
        var moved: [AttemptLaunch] = []
        for id in withdrawn { moved += launches(scheduler.handle(.attempt(.exited(id, .cancelled)), now: 6)) }
        #expect(moved.map(\.id.shard).sorted() == withdrawn.map(\.shard).sorted())
        #expect(moved.allSatisfy { $0.place == 1 && $0.id.number == 2 })
        #expect(scheduler.shardHistories[withdrawn[0].shard] == "attempt 1 withdrawn from spot unstarted")
        // A second pending report from the stalled place moves nothing more.
        #expect(scheduler.handle(.attempt(.pending(onSpot[0].id, reason: nil)), now: 7).isEmpty)
        // Until a pod starts there after all: then it takes shards again, and a later stall there moves them.
        _ = scheduler.handle(.attempt(.running(onSpot[0].id)), now: 8)
        let stalledAgain = scheduler.handle(.attempt(.pending(moved[0].id, reason: nil)), now: 9)
        let unstartedOnDemand = (first.filter { $0.place == 1 } + moved).map(\.id).sorted()
        #expect(cancels(stalledAgain) == unstartedOnDemand, "on-demand's unstarted attempts move to spot")
    }

    @Test func aLostPlaceGetsNothingMoreAndItsShardsRunElsewhereWithoutARetry() {
        let places: [AttemptScheduler.Place] = [.init(name: "a", slots: 4), .init(name: "b", slots: 4)]
        var scheduler = AttemptScheduler(files: files(4), places: places, policy: .init(retries: 0, backups: nil))
        let first = launches(scheduler.handle(.tick, now: 0))
        let onB = first.filter { $0.place == 1 }
        #expect(onB.count == 2)
        #expect(notices(scheduler.handle(.attempt(.placeLost(place: 1, reason: "b: the cluster is down")), now: 1)) == [
            "b is out of the run: b: the cluster is down; its shards move to a"
        ])
        var again: [AttemptLaunch] = []
        for launch in onB {
            again += launches(scheduler.handle(.attempt(.exited(launch.id, .disrupted("b stopped working"))), now: 2))
        }
        #expect(again.count == 2 && again.allSatisfy { $0.place == 0 }, "\(again)")
        for launch in first.filter({ $0.place == 0 }) + again {
            _ = scheduler.handle(.attempt(.exited(launch.id, .succeeded)), now: 3)
        }
        #expect(scheduler.isFinished && scheduler.failedShards.isEmpty, "disruptions use no retry")
    }

    @Test func aPlaceThatBatchesLaunchesGetsTheRerunsOfAMomentInOneLaunch() {
        var scheduler = AttemptScheduler(
            files: files(3), places: [.init(slots: 10, batchesLaunches: true)], policy: .init(retries: 2, backups: nil))
        let first = launches(scheduler.handle(.tick, now: 0))
        #expect(first.count == 3, "the first tick launches every shard")
        #expect(launches(scheduler.handle(.attempt(.exited(first[0].id, .disrupted("preempted"))), now: 1)).isEmpty)
        #expect(launches(scheduler.handle(.attempt(.exited(first[1].id, .failed("exit 1"))), now: 1.1)).isEmpty)
        let again = scheduler.handle(.tick, now: 1.2)
        #expect(again.count == 1, "one launch")
        #expect(launches(again).map(\.id) == [AttemptID(shard: 0, number: 2), AttemptID(shard: 1, number: 2)])
    }

    @Test func twoPlacesAtOnceEachWithWhatItCanDo() {
        // A pool of local workers (one slot, no memory limit, no second attempt of a shard) and a cluster (three
        // slots, memory per attempt, backups), scheduled together.
        let gibibyte: Int64 = 1 << 30
        let places: [AttemptScheduler.Place] = [
            .init(slots: 1, runsAttemptsSideBySide: false),
            .init(slots: 3, runsAttemptsSideBySide: true, memoryBytes: gibibyte),
        ]
        var scheduler = AttemptScheduler(
            files: files(3), places: places, policy: .init(backups: .init(slowdown: 2, minimumFinished: 1)))
        let first = launches(scheduler.handle(.tick, now: 0))
        #expect(first.map(\.place) == [0, 1, 1])
        #expect(first.map(\.memoryBytes) == [nil, gibibyte, gibibyte], "memory only where the place sets it")
        for launch in first { _ = scheduler.handle(.attempt(.running(launch.id)), now: 0) }

        // OOM-killed on the cluster: again there, with twice the memory, and no retry used.
        let oom = scheduler.handle(.attempt(.exited(first[1].id, .oomKilled("OOMKilled"))), now: 1)
        let raised = launches(oom)
        #expect(raised.map(\.id) == [AttemptID(shard: 1, number: 2)])
        #expect(raised.map(\.place) == [1] && raised.map(\.memoryBytes) == [2 * gibibyte])
        #expect(notices(oom) == ["shard 1: OOMKilled at 1Gi, running again at 2Gi"])
        _ = scheduler.handle(.attempt(.running(raised[0].id)), now: 1)

        // The local shard finishes in 2 s; the cluster's shard 2 is still going at 5 s: a backup, on the one place
        // that can run a shard twice.
        #expect(launches(scheduler.handle(.attempt(.exited(first[0].id, .succeeded)), now: 2)).isEmpty)
        _ = scheduler.handle(.attempt(.exited(raised[0].id, .succeeded)), now: 2.5)
        let backup = launches(scheduler.handle(.tick, now: 5))
        #expect(backup.map(\.id) == [AttemptID(shard: 2, number: 2)])
        #expect(backup.map(\.place) == [1] && backup.allSatisfy(\.isBackup))

        // The backup wins: the first attempt, on the same place, is cancelled.
        _ = scheduler.handle(.attempt(.running(backup[0].id)), now: 5)
        let won = scheduler.handle(.attempt(.exited(backup[0].id, .succeeded)), now: 5.5)
        #expect(cancels(won) == [first[2].id])
        #expect(!scheduler.isFinished, "until the loser has stopped")
        _ = scheduler.handle(.attempt(.exited(first[2].id, .cancelled)), now: 6)
        #expect(scheduler.isFinished && scheduler.failedShards.isEmpty)
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

    /// What a simulated run did.
    struct Simulation {
        var end = 0.0
        var launched: [(at: Double, launch: AttemptLaunch)] = []
        var cancelled: [AttemptID] = []
    }

    /// Runs `scheduler` against simulated attempts, each taking `duration` seconds from its launch (`nil`: until
    /// cancelled) and storing its shard's 10 files at an even pace, until it is finished.
    func simulate(_ scheduler: inout AttemptScheduler, duration: (AttemptLaunch) -> Double?) -> Simulation {
        var simulation = Simulation()
        var ends: [(at: Double, id: AttemptID, exit: AttemptExit)] = []
        var paces: [AttemptID: (start: Double, seconds: Double)] = [:]
        var now = 0.0
        func perform(_ actions: [AttemptScheduler.Action]) {
            for launch in launches(actions) {
                simulation.launched.append((now, launch))
                _ = scheduler.handle(.attempt(.running(launch.id)), now: now)
                if let seconds = duration(launch) {
                    ends.append((now + seconds, launch.id, .succeeded))
                    paces[launch.id] = (now, seconds)
                }
            }
            for id in cancels(actions) {
                simulation.cancelled.append(id)
                ends.removeAll { $0.id == id }
                ends.append((now, id, .cancelled))
            }
        }
        perform(scheduler.handle(.tick, now: 0))
        while !scheduler.isFinished, now < 1000 {
            ends.sort { $0.at < $1.at }
            if let next = ends.first, next.at <= now + 0.1 {
                ends.removeFirst()
                now = max(now, next.at)
                perform(scheduler.handle(.attempt(.exited(next.id, next.exit)), now: now))
            } else {
                now += 0.1
                for (id, pace) in paces where scheduler.liveAttempts.contains(id) {
                    let stored = Int((now - pace.start) / pace.seconds * 10)
                    perform(scheduler.handle(.progress(shard: id.shard, filesStored: min(10, stored)), now: now))
                }
                perform(scheduler.handle(.tick, now: now))
            }
        }
        simulation.end = now
        return simulation
    }

    @Test func aStragglerGetsABackupThatWinsAndTheOriginalIsCancelled() {
        var scheduler = AttemptScheduler(files: files(5), places: [.init(slots: 2)], policy: .init())
        // Shard 0's first attempt never ends by itself; every other attempt takes 1 s.
        let simulation = simulate(&scheduler) { $0.id == AttemptID(shard: 0, number: 1) ? nil : 1 }
        // Shards 1 to 3 run one after another on the other slot. At 3 s the median is 1 s and shard 0 has run 3 s
        // with nothing stored: taken as at most half done, it would finish at 6 s, after shard 4 (waiting) would
        // at 4.5 s, so its backup goes first; shard 4 runs once the backup has won, at 4 s.
        let backups = simulation.launched.filter(\.launch.isBackup)
        #expect(backups.map(\.launch.id) == [AttemptID(shard: 0, number: 2)])
        #expect(abs((backups.first?.at ?? 0) - 3) < 0.01, "\(simulation.launched)")
        #expect(simulation.cancelled == [AttemptID(shard: 0, number: 1)])
        #expect(abs(simulation.end - 5) < 0.01, "\(simulation.end)")
        #expect(scheduler.isFinished && scheduler.failedShards.isEmpty)
        #expect(scheduler.shardHistories[0] == "backup attempt 2 succeeded; attempt 1 cancelled")
    }

    @Test func aStragglerThatWouldFinishLastIsBackedUpBeforeTheShardsThatWait() {
        // 16 shards on 4 slots, shard 3's first attempt 10 times slower (10 s, files stored as it goes).
        var scheduler = AttemptScheduler(files: files(16), places: [.init(slots: 4)], policy: .init())
        let simulation = simulate(&scheduler) { $0.id == AttemptID(shard: 3, number: 1) ? 10 : 1 }
        let backup = simulation.launched.first(where: \.launch.isBackup)
        #expect(backup?.launch.id.shard == 3)
        #expect((backup?.at ?? 99) < 4, "backed up while shards still waited: \(simulation.launched)")
        #expect(simulation.end <= 5.01, "no-straggler time is 4 s: \(simulation.end)")
        #expect(scheduler.isFinished && scheduler.failedShards.isEmpty)

        var without = AttemptScheduler(
            files: files(16), places: [.init(slots: 4)], policy: .init(backups: nil))
        #expect(simulate(&without) { $0.id == AttemptID(shard: 3, number: 1) ? 10 : 1 }.end >= 10)
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
        #expect(first.map(\.place) == [0, 1, 0, 1], "both places fill up, by their weights (equal): \(first)")
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

extension AttemptSchedulerTests {
    @Test func aCrashIsolatesTheShardsFilesAndEachCrashAfterThatBlamesAFileWithoutARetry() {
        var scheduler = AttemptScheduler(files: files(1), places: [.init(slots: 1)], policy: .init(retries: 1))
        let first = launches(scheduler.handle(.tick, now: 0))[0]
        #expect(first.isolation == nil)
        let second = launches(scheduler.handle(.attempt(.exited(first.id, .crashed("signal 4"))), now: 1))[0]
        #expect(second.isolation == CrashIsolation(), "files one at a time; no file blamed yet")
        let third = launches(scheduler.handle(.attempt(.exited(second.id, .crashed("signal 4: boom"))), now: 2))[0]
        #expect(third.isolation == CrashIsolation(crashMessage: "signal 4: boom"))
        let fourth = launches(scheduler.handle(.attempt(.exited(third.id, .crashed("signal 4: again"))), now: 3))[0]
        #expect(fourth.isolation == CrashIsolation(crashMessage: "signal 4: again"), "isolated crashes use no retry")
        _ = scheduler.handle(.attempt(.exited(fourth.id, .succeeded)), now: 4)
        #expect(scheduler.isFinished && scheduler.failedShards.isEmpty)
    }
}

extension AttemptSchedulerTests {
    @Test func drainingStartsNothingMoreAndWaitsForTheLiveAttempts() {
        var scheduler = AttemptScheduler(
            files: files(4), places: [.init(slots: 2)], policy: .init(retries: 3, backups: nil))
        let first = launches(scheduler.handle(.tick, now: 0))
        #expect(cancels(scheduler.drain()).isEmpty, "nothing is stopped")
        #expect(launches(scheduler.handle(.attempt(.exited(first[0].id, .failed("exit 1"))), now: 1)).isEmpty,
            "no retry, no next shard")
        #expect(!scheduler.isFinished)
        _ = scheduler.handle(.attempt(.exited(first[1].id, .succeeded)), now: 2)
        #expect(scheduler.isFinished && scheduler.liveAttempts.isEmpty)
    }
}
