import FanoutStorage
import FanoutTestSteps
import FanoutTestSupport
import Foundation
import Testing
@testable import FanoutCore

/// The Swift API over `gs://` on fake-gcs-server: a run's input and state there, the cache, and a state prefix on
/// the other store.
@Suite struct CloudStorageRunTests {
    /// Every store, with S3 on moto and Cloud Storage on the emulator.
    static func stores() throws -> ObjectStores {
        ObjectStores(environment: [:]).with(try makeS3Client()).with(try makeGCSClient())
    }

    @Test func aMapOverGSFoldsExactlyAndASecondRunIsServedFromTheCache() async throws {
        let gcs = try makeGCSClient()
        try await withTemporaryGCSBucket { bucket in
            let store = gcs.store(bucket: bucket)
            let sizes = (0..<15).map { $0 * 7 + 1 }
            for (index, size) in sizes.enumerated() {
                try await store.put(key: "in/\(index).bin", data: Data(repeating: 1, count: size))
            }
            let fanout = Fanout(options: RunOptions(state: "gs://\(bucket)/state/"), stores: try Self.stores())
            let first = try await fanout.map(TestSteps.byteCount, over: Input("gs://\(bucket)/in/"))
            #expect(try await first.aggregate(Sum<Int>()) == sizes.reduce(0, +))
            #expect(first.summary?.succeeded == sizes.count)

            let second = try await fanout.map(TestSteps.byteCount, over: Input("gs://\(bucket)/in/"))
            var cached = 0
            var total = 0
            for try await outcome in second {
                total += try outcome.result.get()
                if outcome.cached { cached += 1 }
            }
            #expect(total == sizes.reduce(0, +))
            #expect(cached == sizes.count, "the cache index and segments on gs:// serve the second run")
            let state = try await store.list(prefix: "state/").collect().map(\.key)
            #expect(state.contains { $0.hasSuffix("/summary.json") })
            #expect(!state.contains { $0.hasPrefix("in/") })
        }
    }

    @Test func inputOnGSWithStateOnS3() async throws {
        let gcs = try makeGCSClient()
        let s3 = try makeS3Client()
        try await withTemporaryGCSBucket { gcsBucket in
            try await withTemporaryBucket(client: s3) { s3Bucket in
                for index in 0..<6 {
                    try await gcs.store(bucket: gcsBucket).put(key: "in/\(index)", data: Data(count: index))
                }
                let fanout = Fanout(
                    options: RunOptions(state: "s3://\(s3Bucket)/state/"), stores: try Self.stores())
                let run = try await fanout.map(TestSteps.byteCount, over: Input("gs://\(gcsBucket)/in/"))
                #expect(try await run.aggregate(Sum<Int>()) == 15)
                let keys = try await s3.store(bucket: s3Bucket).list(prefix: "state/").collect().map(\.key)
                #expect(keys.contains { $0.hasSuffix("/spec.json") })
            }
        }
    }
}
