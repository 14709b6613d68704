import FanoutStorage
import FanoutTestSupport
import Foundation
import Testing
@testable import FanoutCore

/// What reading S3 input costs in requests, counted at a fault proxy of the suite's own: a run whose state is a
/// local folder sends one listing page and then one GET per file, whichever way its step reads the file.
@Suite("Requests of S3 input reads", .serialized)
struct InputFileRequestTests {
    static let fileCount = 24

    /// The words of each file: even ordinals read whole, odd ones streamed line by line.
    static let countWords = MapStep("count-words-either-way", version: "1") { file -> Int in
        if file.ordinal.isMultiple(of: 2) {
            return try await file.text().split(whereSeparator: \.isWhitespace).count
        }
        var words = 0
        for try await line in try await file.lines() { words += line.split(whereSeparator: \.isWhitespace).count }
        return words
    }

    static func contents(_ key: String) -> Data {
        Data(String(repeating: "\(key) and a few words\n", count: 1 + key.count % 5).utf8)
    }

    @Test func aRunReadsEachS3FileWithOneRequest() async throws {
        try await FaultProxy.withPrivateProxy { proxy in
            try await withTemporaryBucket { bucket in
                let keys = (0..<Self.fileCount).map { "words/file-\($0).txt" }
                try await putObjects(keys, into: try makeS3Client().store(bucket: bucket), contents: Self.contents)
                let expected = keys.map {
                    String(decoding: Self.contents($0), as: UTF8.self).split(whereSeparator: \.isWhitespace).count
                }.reduce(0, +)
                try await withTemporaryDirectory { state in
                    let options = RunOptions(
                        backend: InProcessBackend(parallelism: 2, filesPerShardInFlight: 4), sharding: .shards(3),
                        state: state.path + "/", cache: false)
                    let fanout = Fanout(options: options, s3: try makeS3Client(endpoint: proxy.url))
                    try await proxy.reset()
                    let run = try await fanout.map(Self.countWords, over: Input("s3://\(bucket)/words/"))
                    let words = try await run.aggregate(Sum<Int>())
                    #expect(words == expected)
                    let stats = try await proxy.stats()
                    #expect(stats.requests == Self.fileCount + 1, "one listing page, then one GET per file")
                }
            }
        }
    }
}
