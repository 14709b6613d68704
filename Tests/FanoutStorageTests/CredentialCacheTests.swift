import FanoutSigV4
import Foundation
import Synchronization
import Testing

@testable import FanoutStorage

@Suite("Expiring credentials cache")
struct CredentialCacheTests {
    /// Counts calls, hands out numbered credentials that expire an hour after `clock.now`, and can hold callers
    /// until ``open()``.
    actor CountingProvider: AWSCredentialProvider {
        let clock: CredentialTestClock
        let lifetime: TimeInterval?
        private(set) var calls = 0
        private var gateOpen: Bool
        private var held: [CheckedContinuation<Void, Never>] = []
        var failure: CredentialError?

        init(clock: CredentialTestClock, lifetime: TimeInterval? = 3600, gateOpen: Bool = true) {
            self.clock = clock
            self.lifetime = lifetime
            self.gateOpen = gateOpen
        }

        func credentials() async throws -> AWSCredentials? {
            calls += 1
            let number = calls
            if !gateOpen { await withCheckedContinuation { held.append($0) } }
            if let failure { throw failure }
            return AWSCredentials(
                accessKeyID: "AKIA\(number)", secretAccessKey: "s\(number)",
                expiration: lifetime.map { clock.now.addingTimeInterval($0) })
        }

        func open() {
            gateOpen = true
            for continuation in held { continuation.resume() }
            held.removeAll()
        }

        func fail(with error: CredentialError?) { failure = error }
    }

    @Test func concurrentCallersShareOneRefresh() async throws {
        let clock = CredentialTestClock()
        let provider = CountingProvider(clock: clock, gateOpen: false)
        let cache = ExpiringCredentials(provider: provider, now: { clock.now })
        let callers = 20

        let results = try await withThrowingTaskGroup(of: AWSCredentials?.self) { group in
            for _ in 0..<callers { group.addTask { try await cache.credentials() } }
            // Release the provider only once every caller is waiting on the refresh.
            let deadline = ContinuousClock.now + .seconds(10)
            while await cache.waitingCallers < callers, ContinuousClock.now < deadline { await Task.yield() }
            #expect(await cache.waitingCallers == callers)
            await provider.open()
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(await provider.calls == 1)
        #expect(results.count == callers)
        #expect(Set(results.map { $0?.accessKeyID }) == ["AKIA1"])
    }

    @Test func refreshesWithinFiveMinutesOfExpiration() async throws {
        let clock = CredentialTestClock()
        let provider = CountingProvider(clock: clock)
        let cache = ExpiringCredentials(provider: provider, now: { clock.now })

        #expect(try await cache.credentials()?.accessKeyID == "AKIA1")
        clock.advance(by: 3600 - 6 * 60)  // six minutes left: still good
        #expect(try await cache.credentials()?.accessKeyID == "AKIA1")
        #expect(await provider.calls == 1)

        clock.advance(by: 2 * 60)  // four minutes left: refresh
        #expect(try await cache.credentials()?.accessKeyID == "AKIA2")
        #expect(await provider.calls == 2)
        #expect(try await cache.credentials()?.accessKeyID == "AKIA2")
        #expect(await provider.calls == 2)
    }

    @Test func credentialsWithoutExpirationAreKeptUntilInvalidated() async throws {
        let clock = CredentialTestClock()
        let provider = CountingProvider(clock: clock, lifetime: nil)
        let cache = ExpiringCredentials(provider: provider, now: { clock.now })
        _ = try await cache.credentials()
        clock.advance(by: 365 * 24 * 3600)
        #expect(try await cache.credentials()?.accessKeyID == "AKIA1")
        await cache.invalidate()
        #expect(try await cache.credentials()?.accessKeyID == "AKIA2")
        #expect(await provider.calls == 2)
    }

    @Test func failedRefreshFallsBackToUnexpiredCredentialsOnly() async throws {
        let clock = CredentialTestClock()
        let provider = CountingProvider(clock: clock)
        let cache = ExpiringCredentials(provider: provider, now: { clock.now })
        _ = try await cache.credentials()
        await provider.fail(with: CredentialError(code: .stsRequestFailed, message: "sts down"))

        clock.advance(by: 3600 - 60)  // one minute left: refresh fails, old credentials still work
        #expect(try await cache.credentials()?.accessKeyID == "AKIA1")
        #expect(await provider.calls == 2)

        clock.advance(by: 120)  // expired
        let error = try await #require(throws: CredentialError.self) { try await cache.credentials() }
        #expect(error.message == "sts down")
        #expect(await provider.calls == 3)
    }
}
