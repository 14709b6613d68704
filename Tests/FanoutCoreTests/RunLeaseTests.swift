import FanoutStorage
import FanoutTestSupport
import Foundation
import Synchronization
import Testing
import FanoutTestSteps
@testable import FanoutCore

/// One run, one driver: creating a run is atomic, and a live lease keeps a second driver out.
@Suite struct RunLeaseTests {
    /// The stores a lease lives in: a local folder, a moto bucket, and a fake-gcs-server bucket.
    static let stores = ["local", "s3", "gcs"]

    static func withStore(_ kind: String, _ body: (any ObjectStore) async throws -> Void) async throws {
        if kind == "local" {
            try await withTemporaryDirectory { folder in try await body(LocalObjectStore(root: folder)) }
        } else if kind == "gcs" {
            let client = try makeGCSClient()
            try await withTemporaryGCSBucket { bucket in try await body(client.store(bucket: bucket)) }
        } else {
            let client = try makeS3Client()
            try await withTemporaryBucket(client: client) { bucket in try await body(client.store(bucket: bucket)) }
        }
    }

    static func keeper(
        _ store: any ObjectStore, runID: String = "run-1", seconds: Int = 60, now: @escaping @Sendable () -> Date = { Date() }
    ) -> RunLeaseKeeper {
        RunLeaseKeeper(
            state: RunStateStore(store: store, layout: RunStateLayout(root: "state/", runID: runID)),
            settings: LeaseSettings(duration: .seconds(seconds)), now: now)
    }

    @Test func creatingARunIdIsAtomicOnTheLocalStore() async throws {
        try await withTemporaryDirectory { folder in
            let store = LocalObjectStore(root: folder)
            let created = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<24 {
                    group.addTask { (try? await Self.keeper(store).create()) != nil }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(created == 1)
        }
    }

    @Test(arguments: stores) func aTakenRunIdIsReplacedByAnother(kind: String) async throws {
        try await Self.withStore(kind) { store in
            let taken = "20260101-000000-00000001"
            try await Self.keeper(store, runID: taken).create()
            let ids = Mutex(["20260101-000000-00000002", taken])
            try await withTemporaryDirectory { input in
                try Data("x".utf8).write(to: input.appendingPathComponent("a.txt"))
                let location = "\(store.description)/state/"
                var preparation = RunPreparation(
                    fanout: Fanout(
                        options: RunOptions(state: kind == "local" ? nil : location),
                        stores: ObjectStores(environment: [:]).with(try makeS3Client()).with(try makeGCSClient())),
                    step: AnyMapStep(TestSteps.byteCount))
                if kind == "local" {
                    preparation = RunPreparation(
                        fanout: Fanout(
                            options: RunOptions(state: (store as! LocalObjectStore).root.path + "/state/")),
                        step: AnyMapStep(TestSteps.byteCount))
                }
                preparation.newRunID = { ids.withLock { $0.removeLast() } }
                let prepared = try await preparation.prepare(Input(input.path))
                #expect(prepared.spec.runID == "20260101-000000-00000002")
            }
        }
    }

    @Test(arguments: stores) func aLiveLeaseKeepsASecondDriverOutUnlessItTakesOver(kind: String) async throws {
        try await Self.withStore(kind) { store in
            let first = Self.keeper(store)
            try await first.create()
            let second = Self.keeper(store)
            let refused = await #expect(throws: RunError.self) { try await second.acquire(takeOver: false) }
            #expect(refused?.code == .leaseHeld)
            #expect(refused?.message.contains("pid \(getpid())") == true, "\(String(describing: refused))")
            #expect(try await first.renew())

            try await second.acquire(takeOver: true)
            #expect(try await first.renew() == false)
            #expect(!first.holds)
            #expect(first.lostError?.message.contains("taken over") == true)
            #expect(try await second.renew())
        }
    }

    @Test(arguments: stores) func anExpiredOrReleasedLeaseIsFreeToTake(kind: String) async throws {
        try await Self.withStore(kind) { store in
            // A driver that died an hour ago.
            let dead = Self.keeper(store, seconds: 60, now: { Date().addingTimeInterval(-3600) })
            try await dead.create()
            try await Self.keeper(store).acquire(takeOver: false)

            let finished = Self.keeper(store, runID: "run-2")
            try await finished.create()
            await finished.release()
            try await Self.keeper(store, runID: "run-2").acquire(takeOver: false)
        }
    }
}
