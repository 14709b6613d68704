import FanoutStorage
import Foundation
import Synchronization
import Testing

@Suite("ObjectListing")
struct ObjectListingTests {
    static func object(_ key: String) -> ObjectInfo {
        ObjectInfo(key: key, size: 1, etag: "e", lastModified: Date(timeIntervalSince1970: 0))
    }

    /// Pages of `pageSize` objects named 0..<count; records the continuations it was asked for.
    final class FakeBucket: Sendable {
        let count: Int
        let pageSize: Int
        let requests = Mutex<[String?]>([])

        init(count: Int, pageSize: Int) {
            self.count = count
            self.pageSize = pageSize
        }

        var listing: ObjectListing {
            ObjectListing { continuation in
                self.requests.withLock { $0.append(continuation) }
                let start = continuation.flatMap(Int.init) ?? 0
                let end = min(start + self.pageSize, self.count)
                return ObjectListing.Page(
                    objects: (start..<end).map { ObjectListingTests.object(String($0)) },
                    continuation: end < self.count ? String(end) : nil)
            }
        }
    }

    @Test("pages are fetched one at a time, only when the previous one is used up")
    func lazy() async throws {
        let bucket = FakeBucket(count: 25, pageSize: 10)
        var iterator = bucket.listing.makeAsyncIterator()
        #expect(bucket.requests.withLock { $0 }.isEmpty)
        for index in 0..<25 {
            #expect(try await iterator.next()?.key == String(index))
            #expect(bucket.requests.withLock { $0.count } == index / 10 + 1)
        }
        #expect(try await iterator.next() == nil)
        #expect(try await iterator.next() == nil)
        #expect(bucket.requests.withLock { $0 } == [nil, "10", "20"])
    }

    @Test("empty pages in the middle do not end the listing")
    func emptyPages() async throws {
        let listing = ObjectListing { continuation in
            switch continuation {
            case nil: ObjectListing.Page(objects: [], commonPrefixes: ["p/"], continuation: "a")
            case "a": ObjectListing.Page(objects: [Self.object("x")], continuation: "b")
            case "b": ObjectListing.Page(objects: [], continuation: "c")
            default: ObjectListing.Page(objects: [Self.object("y")], continuation: nil)
            }
        }
        #expect(try await listing.collect().map(\.key) == ["x", "y"])
        var pages = 0
        var prefixes: [String] = []
        for try await page in listing.pages {
            pages += 1
            prefixes += page.commonPrefixes
        }
        #expect(pages == 4)
        #expect(prefixes == ["p/"])
    }

    @Test("a failing page ends the listing with its error")
    func failure() async throws {
        struct Failed: Error {}
        let listing = ObjectListing { continuation in
            guard continuation == nil else { throw Failed() }
            return ObjectListing.Page(objects: [Self.object("a")], continuation: "next")
        }
        var iterator = listing.makeAsyncIterator()
        #expect(try await iterator.next()?.key == "a")
        await #expect(throws: Failed.self) { _ = try await iterator.next() }
    }
}
