@testable import FanoutStorage
import Foundation
import Synchronization

/// A local store that counts what it serves: list pages, reads (whole or ranged) and writes.
final class CountingStore: ObjectStore, Sendable {
    struct Counts: Sendable {
        var pages = 0
        var gets = 0
        var rangedGets = 0
        var puts = 0
    }

    let base: LocalObjectStore
    let counts = Mutex(Counts())

    init(_ base: LocalObjectStore) { self.base = base }

    func reset() { counts.withLock { $0 = Counts() } }

    var description: String { base.description }

    func list(prefix: String, options: ListOptions) -> ObjectListing {
        let listing = base.list(prefix: prefix, options: options)
        return ObjectListing { [self] continuation in
            counts.withLock { $0.pages += 1 }
            return try await listing.fetch(continuation)
        }
    }

    func head(key: String) async throws -> ObjectInfo { try await base.head(key: key) }
    func get(key: String, range: ClosedRange<Int64>?, ifMatch: String?) async throws -> Data {
        counts.withLock {
            $0.gets += 1
            if range != nil { $0.rangedGets += 1 }
        }
        return try await base.get(key: key, range: range, ifMatch: ifMatch)
    }
    func stream(key: String, range: ClosedRange<Int64>?, ifMatch: String?) async throws -> ObjectByteStream {
        try await base.stream(key: key, range: range, ifMatch: ifMatch)
    }
    func put(key: String, data: Data, options: PutOptions) async throws -> PutResult {
        counts.withLock { $0.puts += 1 }
        return try await base.put(key: key, data: data, options: options)
    }
    func put(key: String, file: URL, options: PutOptions) async throws -> PutResult {
        counts.withLock { $0.puts += 1 }
        return try await base.put(key: key, file: file, options: options)
    }
    func delete(key: String) async throws { try await base.delete(key: key) }
    func delete(keys: [String]) async throws { try await base.delete(keys: keys) }
    func presignedURL(key: String, method: PresignMethod, expires: Duration) async throws -> URL {
        try await base.presignedURL(key: key, method: method, expires: expires)
    }
}
