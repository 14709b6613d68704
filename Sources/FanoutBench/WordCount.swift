import Fanout
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The words of a file: runs of bytes that are not ASCII whitespace, as Python's `bytes.split()` counts them.
let countWords = MapStep("bench-word-count", version: "1") { file -> Int in
    let data = try await file.bytes()
    return data.withUnsafeBytes { bytes in
        var words = 0
        var inWord = false
        for byte in bytes {
            let space = byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
            if !space && !inWord { words += 1 }
            inWord = !space
        }
        return words
    }
}

/// This process's user and system CPU time so far, in seconds.
func cpuSeconds() -> Double {
    var usage = rusage()
    #if canImport(Darwin)
        getrusage(RUSAGE_SELF, &usage)
    #else
        getrusage(RUSAGE_SELF.rawValue, &usage)
    #endif
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// A whole Fanout run in this process: list the prefix, plan, store the state, count the words of every object
/// with `concurrency` reads in flight (shards at once × files in flight per shard), and sum the counts.
///
/// The state goes to a fresh local temporary folder (`--state local`) or under `fanout-state/` in the same bucket
/// (`--state s3`); the cache is off, so every run reads every object.
func wordCount(_ arguments: Arguments, s3: S3Client) async throws {
    let shardsAtOnce = max(1, min(4, arguments.concurrency / 4))
    let filesInFlight = max(1, arguments.concurrency / shardsAtOnce)
    let local = FileManager.default.temporaryDirectory.appendingPathComponent("fanout-bench-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: local) }
    let state = arguments.state == "s3" ? "s3://\(arguments.bucket)/fanout-state/" : local.path + "/"
    let options = RunOptions(
        backend: InProcessBackend(parallelism: shardsAtOnce, filesPerShardInFlight: filesInFlight),
        sharding: .shards(shardsAtOnce * 2), state: state, cache: false)

    let cpuBefore = cpuSeconds()
    let start = ContinuousClock.now
    let run = try await Fanout(options: options, s3: s3)
        .map(countWords, over: Input("s3://\(arguments.bucket)/\(arguments.prefix)"))
    let words = try await run.aggregate(Sum<Int>())
    report("wordcount", seconds: seconds(since: start), [
        "objects": run.fileCount, "words": words, "concurrency": shardsAtOnce * filesInFlight,
        "shards": run.shardCount, "state": arguments.state,
        "cpu_seconds": ((cpuSeconds() - cpuBefore) * 1000).rounded() / 1000,
    ])
}
