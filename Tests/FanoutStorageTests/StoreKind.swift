import FanoutStorage
import FanoutTestSupport
import Foundation

/// The stores the behaviour contract runs against: a local folder, a moto bucket and a fake-gcs-server bucket.
enum StoreKind: String, CaseIterable, Sendable {
    case local
    case s3
    case gcs

    /// Runs `body` with an empty store of this kind, removed afterwards.
    func withStore<T>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (any ObjectStore) async throws -> T
    ) async throws -> T {
        switch self {
        case .local:
            return try await withTemporaryDirectory { folder in try await body(LocalObjectStore(root: folder)) }
        case .s3:
            let client = try makeS3Client()
            return try await withTemporaryBucket(client: client) { bucket in
                try await body(client.store(bucket: bucket))
            }
        case .gcs:
            let client = try makeGCSClient()
            return try await withTemporaryGCSBucket { bucket in try await body(client.store(bucket: bucket)) }
        }
    }
}

extension ObjectStore {
    /// Every key under `prefix`, in listing order.
    func keys(prefix: String = "", options: ListOptions = ListOptions()) async throws -> [String] {
        try await list(prefix: prefix, options: options).collect().map(\.key)
    }

    /// Every page under `prefix`, as (keys, common prefixes).
    func pages(prefix: String = "", options: ListOptions) async throws -> [(keys: [String], prefixes: [String])] {
        var pages: [(keys: [String], prefixes: [String])] = []
        for try await page in list(prefix: prefix, options: options).pages {
            pages.append((page.objects.map(\.key), page.commonPrefixes))
        }
        return pages
    }
}

/// Bytes counting up from 0 and wrapping at 251 (a prime, so ranges never line up with powers of two).
func patternBytes(_ count: Int, seed: Int = 0) -> Data {
    Data((0..<count).map { UInt8(($0 + seed) % 251) })
}
