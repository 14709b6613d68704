import FanoutHTTP
import FanoutStorage
import Foundation
import Synchronization

/// Who drives a run, and until when: `runs/RUN/lease.json`, written only with conditional writes.
struct RunLease: Codable, Sendable, Equatable {
    /// The driver, for people: `host pid 1234`.
    var holder: String
    /// The driver's random token; the lease is this driver's while the stored token is its own.
    var token: String
    var acquiredAt: Date
    var renewedAt: Date
    /// Past this, another driver may take the run: the holder has died or lost the store.
    var expiresAt: Date
    /// Set when the driver ended the run cleanly (finished, failed or interrupted): the next driver needs no wait.
    var released: Bool?
}

/// Keeps one driver's lease on a run: creates it with the run (which makes creating a run atomic), takes it on
/// attaching, renews it while the run goes, and releases it at the end.
///
/// A second driver refuses a live lease held by another, naming the holder, unless told to take the run over;
/// the driver that lost its lease stops without touching the workers, which the new holder adopts.
final class RunLeaseKeeper: Sendable {
    let state: RunStateStore
    let settings: LeaseSettings
    let token: String
    private let now: @Sendable () -> Date
    private let etag = Mutex<String?>(nil)
    private let acquiredAt = Mutex<Date?>(nil)
    private let lostTo = Mutex<RunLease?>(nil)

    init(state: RunStateStore, settings: LeaseSettings, now: @escaping @Sendable () -> Date = { Date() }) {
        self.state = state
        self.settings = settings
        self.now = now
        token = UUID().uuidString.lowercased()
    }

    /// Whether this driver still holds the run: `false` once a renewal found another driver's lease.
    var holds: Bool { lostTo.withLock { $0 == nil } }

    /// Creates the lease of a new run.
    /// - Throws: ``ObjectStoreError`` with code ``ObjectStoreError/Code/preconditionFailed`` when the run id is
    ///   taken: the caller picks another id.
    func create() async throws {
        try await write(fresh(), ifNoneMatch: true)
    }

    /// Takes the lease of an existing run: one that is free (released, expired, or from before leases), or, with
    /// `takeOver`, one another driver holds.
    /// - Throws: ``RunError`` with code ``RunError/Code/leaseHeld`` naming the holder otherwise.
    func acquire(takeOver: Bool) async throws {
        guard let (current, currentETag) = try await read() else {
            do {
                return try await write(fresh(), ifNoneMatch: true)
            } catch let error as ObjectStoreError where error.code == .preconditionFailed {
                throw held(by: try await read()?.lease, racing: true)
            }
        }
        let free = current.released == true || current.expiresAt <= now() || current.token == token
        guard free || takeOver else { throw held(by: current, racing: false) }
        do {
            try await write(fresh(), ifMatch: currentETag)
        } catch let error as ObjectStoreError where error.code == .preconditionFailed || error.code == .notFound {
            throw held(by: try await read()?.lease, racing: true)
        }
    }

    /// Extends the lease; returns `false`, and stops holding, when another driver has taken it.
    @discardableResult
    func renew() async throws -> Bool {
        guard holds, let lastETag = etag.withLock({ $0 }) else { return false }
        let lease = fresh()
        do {
            try await write(lease, ifMatch: lastETag)
            return true
        } catch let error as ObjectStoreError where error.code == .preconditionFailed || error.code == .notFound {
            let current = try? await read()?.lease
            lostTo.withLock { $0 = current ?? RunLease(
                holder: "another driver", token: "", acquiredAt: now(), renewedAt: now(), expiresAt: now()) }
            return false
        }
    }

    /// Renews the lease every third of its duration until cancelled or lost; returns when it is lost.
    func keep() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: settings.duration / 3)
            } catch {
                return
            }
            // A store that cannot be reached now may be reachable at the next renewal, before expiry.
            if (try? await renew()) == false { return }
        }
    }

    /// Marks the lease released, so the next driver need not wait for it to expire.
    func release() async {
        guard holds, let lastETag = etag.withLock({ $0 }) else { return }
        var lease = fresh()
        lease.expiresAt = now()
        lease.released = true
        try? await write(lease, ifMatch: lastETag)
    }

    /// Why this driver stopped, once it lost the lease.
    var lostError: RunError? {
        guard let other = lostTo.withLock({ $0 }) else { return nil }
        return RunError(
            code: .leaseHeld,
            message: "run \(state.layout.runID) was taken over by \(other.holder) at "
                + "\(Self.format(other.acquiredAt)): this driver stopped and left the workers to it")
    }

    // MARK: - Reading and writing

    private func fresh() -> RunLease {
        let now = now()
        let since = acquiredAt.withLock { $0 } ?? now
        return RunLease(
            holder: "\(ProcessInfo.processInfo.hostName) pid \(getpid())", token: token, acquiredAt: since,
            renewedAt: now, expiresAt: now.addingTimeInterval(settings.duration.inSeconds))
    }

    private func write(_ lease: RunLease, ifNoneMatch: Bool = false, ifMatch: String? = nil) async throws {
        let result = try await state.store.put(
            key: state.layout.lease, data: try StateCoding.encode(lease),
            options: PutOptions(contentType: "application/json", ifNoneMatch: ifNoneMatch, ifMatch: ifMatch))
        etag.withLock { $0 = result.etag }
        acquiredAt.withLock { $0 = $0 ?? lease.acquiredAt }
    }

    /// The stored lease and its ETag, or `nil` when the run has none.
    private func read() async throws -> (lease: RunLease, etag: String)? {
        let key = state.layout.lease
        do {
            let info = try await state.store.head(key: key)
            let data = try await state.store.get(key: key, range: nil, ifMatch: info.etag)
            return (try StateCoding.decode(RunLease.self, from: data, key: key), info.etag)
        } catch let error as ObjectStoreError where error.code == .notFound {
            return nil
        }
    }

    private func held(by lease: RunLease?, racing: Bool) -> RunError {
        let runID = state.layout.runID
        guard let lease else {
            return RunError(code: .leaseHeld, message: "another driver took run \(runID) at the same moment")
        }
        return RunError(
            code: .leaseHeld,
            message: "run \(runID) is driven by \(lease.holder) since \(Self.format(lease.acquiredAt)) (renewed "
                + "\(Self.format(lease.renewedAt)); free at \(Self.format(lease.expiresAt)) unless renewed)"
                + (racing ? ", which took it at the same moment" : "")
                + ": follow it with `fanout status \(runID)`, or take it over with --take-over (the other driver "
                + "then stops and leaves its workers to this one)")
    }

    private static func format(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date)
    }
}

/// How a driver holds its run.
public struct LeaseSettings: Sendable, Hashable {
    /// How long a lease lasts without renewal; the driver renews it every third of that. A run whose driver died
    /// can be attached again after this long. Default 60 seconds.
    public var duration: Duration
    /// Take a run that another live driver holds; that driver stops and leaves its workers. Default `false`.
    public var takeOver: Bool

    public init(duration: Duration = .seconds(60), takeOver: Bool = false) {
        self.duration = duration
        self.takeOver = takeOver
    }
}
