// Word count over every file under a prefix: the map runs per file (in this process, in worker processes, or
// in pods), and the counts are merged here, as they arrive.
//
//   swift run word-count Examples/corpus
//   swift run word-count s3://my-bucket/books/ --processes 4
//   swift run word-count Examples/corpus --top 20
//   swift run word-count s3://my-bucket/books/ --kubernetes batch --secret s3-credentials
//
// With --kubernetes NAMESPACE the map runs in pods of one Indexed Job: this very executable is shipped to them
// through the state prefix, and the Secret named by --secret gives them S3 credentials as environment variables.
import Fanout
import Foundation

/// A file with bytes that are not UTF-8 text (an image, a compressed file) has no words to count.
struct NotText: Error, CustomStringConvertible {
    let key: String
    var description: String { "\(key) is not UTF-8 text" }
}

let countWords = MapStep("count-words", version: "2") { file -> [String: Int] in
    var counts: [String: Int] = [:]
    for try await line in try await file.lines() {
        // Bytes that are not UTF-8 arrive as U+FFFD.
        guard !line.unicodeScalars.contains("\u{FFFD}") else { throw NotText(key: file.key) }
        for word in line.lowercased().split(whereSeparator: { !$0.isLetter && $0 != "'" }) {
            counts[String(word), default: 0] += 1
        }
    }
    return counts
}

// The same executable is its own worker: this returns at once here, and runs a shard and exits in a worker.
await Fanout.bootstrap(countWords)

/// Ends the program with one line saying what went wrong, and status 1.
func fail(_ error: any Error) -> Never {
    let line = String(describing: error).split(separator: "\n").first ?? ""
    FileHandle.standardError.write(Data("word-count: \(line)\n".utf8))
    exit(1)
}

let arguments = CommandLine.arguments.dropFirst()
guard let input = arguments.first else {
    print("usage: word-count PREFIX [--processes N | --kubernetes NAMESPACE [--secret NAME]] [--top N]")
    exit(2)
}
func text(_ name: String) -> String? {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.endIndex else { return nil }
    return arguments[index + 1]
}
func option(_ name: String) -> Int? { text(name).flatMap { Int($0) } }

var options = RunOptions()
if let workers = option("--processes") { options.backend = ProcessBackend(workers: workers) }
if let namespace = text("--kubernetes") {
    var kubernetes = KubernetesBackend.Options()
    kubernetes.namespace = namespace
    kubernetes.secretEnvironment = text("--secret").map { [$0] } ?? []
    // The pods reach the same S3 endpoint and region as this process.
    for name in ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION"] {
        if let value = ProcessInfo.processInfo.environment[name] { kubernetes.environment[name] = value }
    }
    options.backend = KubernetesBackend(options: kubernetes)
}
do {
    let run = try await Fanout(options: options).map(countWords, over: Input(input))

    var totals = MergeDictionaries<String, Int>.adding
    var files = 0
    var failed: [String] = []
    // A file that failed is an outcome too: the loop sees every file, then the run's tolerance is checked.
    for try await outcome in run {
        files += 1
        switch outcome.result {
        case .success(let counts): totals.add(counts)
        case .failure(let failure): failed.append("failed: \(outcome.key): \(failure)")
        }
    }

    let top = totals.result.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(option("--top") ?? 10)
    print("\(files) files, \(totals.result.values.reduce(0, +)) words, \(totals.result.count) distinct (run \(run.id))")
    for (word, count) in top { print("\(String(count).padding(toLength: 8, withPad: " ", startingAt: 0)) \(word)") }
    for line in failed { print(line) }
    try run.checkTolerance()
} catch {
    fail(error)
}
