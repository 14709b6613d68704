/// The objects under a prefix, fetched a page at a time as they are iterated.
///
/// Nothing is fetched ahead: the next page is requested only when the current one has been consumed, so a listing
/// of a million keys holds one page in memory at once. Iterate ``pages`` to also see common prefixes.
public struct ObjectListing: AsyncSequence, Sendable {
    public typealias Element = ObjectInfo

    /// One response's worth of a listing.
    public struct Page: Sendable {
        public var objects: [ObjectInfo]
        /// Groups of keys rolled up at the delimiter, when one was given.
        public var commonPrefixes: [String]
        /// Where the next page starts; `nil` on the last page.
        public var continuation: String?

        public init(objects: [ObjectInfo], commonPrefixes: [String] = [], continuation: String?) {
            self.objects = objects
            self.commonPrefixes = commonPrefixes
            self.continuation = continuation
        }
    }

    let fetch: @Sendable (_ continuation: String?) async throws -> Page

    /// A listing that calls `fetch` with `nil` first, then with each page's continuation until one has none.
    public init(fetch: @escaping @Sendable (_ continuation: String?) async throws -> Page) {
        self.fetch = fetch
    }

    /// The pages themselves.
    public var pages: Pages { Pages(fetch: fetch) }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(pages: pages.makeAsyncIterator()) }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var pages: Pages.AsyncIterator
        var buffer: [ObjectInfo] = []
        var index = 0

        public mutating func next() async throws -> ObjectInfo? {
            while index == buffer.count {
                guard let page = try await pages.next() else { return nil }
                buffer = page.objects
                index = 0
            }
            defer { index += 1 }
            return buffer[index]
        }
    }

    public struct Pages: AsyncSequence, Sendable {
        public typealias Element = Page
        let fetch: @Sendable (String?) async throws -> Page

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(fetch: fetch) }

        public struct AsyncIterator: AsyncIteratorProtocol {
            let fetch: @Sendable (String?) async throws -> Page
            var continuation: String?
            var done = false

            public mutating func next() async throws -> Page? {
                guard !done else { return nil }
                let page = try await fetch(continuation)
                continuation = page.continuation
                done = page.continuation == nil
                return page
            }
        }
    }

    /// Collects every object; for small listings and tests.
    public func collect() async throws -> [ObjectInfo] {
        var all: [ObjectInfo] = []
        for try await object in self { all.append(object) }
        return all
    }
}
