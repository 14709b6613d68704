// Per-file statistics (bytes, lines, longest line) folded into totals and a size histogram.
//
//   swift run file-stats Examples/corpus
//   swift run file-stats s3://my-bucket/logs/ --processes 4
import Fanout
import Foundation

struct FileStats: Codable, Sendable {
    var bytes: Int
    var lines: Int
    var longestLine: Int
}

let measure = MapStep("file-stats", version: "1") { file -> FileStats in
    var stats = FileStats(bytes: 0, lines: 0, longestLine: 0)
    for try await line in try await file.lines() {
        stats.lines += 1
        stats.bytes += line.utf8.count + 1
        stats.longestLine = max(stats.longestLine, line.utf8.count)
    }
    return stats
}

await Fanout.bootstrap(measure)

/// Ends the program with one line saying what went wrong, and status 1.
func fail(_ error: any Error) -> Never {
    let line = String(describing: error).split(separator: "\n").first ?? ""
    FileHandle.standardError.write(Data("file-stats: \(line)\n".utf8))
    exit(1)
}

let arguments = CommandLine.arguments.dropFirst()
guard let input = arguments.first else {
    print("usage: file-stats PREFIX [--processes N]")
    exit(2)
}
var options = RunOptions()
if let index = arguments.firstIndex(of: "--processes"), index + 1 < arguments.endIndex,
    let workers = Int(arguments[index + 1])
{
    options.backend = ProcessBackend(workers: workers)
}

do {
    let run = try await Fanout(options: options).map(measure, over: Input(input))
    var lines = Sum<Int>()
    var sizes = Histogram(bounds: [1_024, 16_384, 262_144, 1_048_576])
    var longest = TopK<(String, Int)>(3) { Double($0.1) }
    for try await outcome in run {
        guard let stats = outcome.value else {
            print("failed: \(outcome.key): \(outcome.failure!)")
            continue
        }
        lines.add(stats.lines)
        sizes.add(Double(stats.bytes))
        longest.add((outcome.key, stats.longestLine))
    }

    print("\(run.fileCount) files, \(lines.result) lines (run \(run.id))")
    for bucket in sizes.result {
        print("  <= \(bucket.upperBound.map { String(Int($0)) } ?? "inf") bytes: \(bucket.count)")
    }
    print("longest lines:")
    for (key, length) in longest.result { print("  \(length) chars  \(key)") }
    // Every outcome has been seen: now the failed files decide how the program ends.
    try run.checkTolerance()
} catch {
    fail(error)
}
