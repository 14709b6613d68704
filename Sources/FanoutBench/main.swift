// The Fanout side of the S3 client benchmark (scripts/bench): the same operations as scripts/bench_boto3.py,
// against the same server, reported as the same JSON lines.
//
//     FanoutBench list   --endpoint URL --bucket B [--prefix P]
//     FanoutBench seed   --endpoint URL --bucket B [--prefix P] [--count 100000] [--concurrency 16]
//     FanoutBench putget --endpoint URL --bucket B [--prefix P] [--count 2000] [--concurrency 16] [--size 1024]
//     FanoutBench wordcount --endpoint URL --bucket B [--prefix P] [--concurrency 16] [--state local|s3]
//     FanoutBench kube-linecount --count N --namespace NS [--parallelism PODS] [--ship] [--no-backups]
//
// Each measured phase prints one line: {"tool":"fanout","op":"list","keys":100000,"seconds":4.2,"max_rss_kib":6123}.
// `wordcount` is a whole Fanout run in this process over the objects under the prefix (scripts/bench-s3-wordcount);
// `kube-linecount` a run on the Kubernetes backend, a shard per file, against the cluster of KUBECONFIG
// (scripts/bench-kube-shards), whose pods are this executable again.
// Credentials and region come from the usual AWS variables.
import Fanout
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

struct Arguments {
    var command = ""
    var endpoint: URL?
    var bucket = ""
    var prefix = ""
    var count = 2000
    var concurrency = 16
    var size = 1024
    var state = "local"
    var namespace = "default"
    var parallelism: Int?
    var ship = false
    var backups = true

    static let usage = """
        usage: FanoutBench list   --endpoint URL --bucket B [--prefix P]
               FanoutBench seed   --endpoint URL --bucket B [--prefix P] [--count N] [--concurrency N]
               FanoutBench putget --endpoint URL --bucket B [--prefix P] [--count N] [--concurrency N] [--size BYTES]
               FanoutBench wordcount --endpoint URL --bucket B [--prefix P] [--concurrency N] [--state local|s3]
               FanoutBench kube-linecount --count N --namespace NS [--parallelism PODS] [--ship] [--no-backups]
        """

    init(_ arguments: [String]) throws {
        var rest = arguments[...]
        let commands = ["list", "seed", "putget", "wordcount", "kube-linecount"]
        guard let command = rest.popFirst(), commands.contains(command) else { throw UsageError() }
        self.command = command
        while let flag = rest.popFirst() {
            if flag == "--ship" || flag == "--no-backups" {
                if flag == "--ship" { ship = true } else { backups = false }
                continue
            }
            guard let value = rest.popFirst() else { throw UsageError() }
            switch flag {
            case "--endpoint": endpoint = URL(string: value)
            case "--bucket": bucket = value
            case "--prefix": prefix = value
            case "--count": count = try Self.positive(value)
            case "--concurrency": concurrency = try Self.positive(value)
            case "--size": size = try Self.positive(value)
            case "--state" where ["local", "s3"].contains(value): state = value
            case "--namespace": namespace = value
            case "--parallelism": parallelism = try Self.positive(value)
            default: throw UsageError()
            }
        }
        guard command == "kube-linecount" || (endpoint != nil && !bucket.isEmpty) else { throw UsageError() }
    }

    static func positive(_ text: String) throws -> Int {
        guard let value = Int(text), value >= 1 else { throw UsageError() }
        return value
    }
}

struct UsageError: Error {}

/// The largest resident set this process has had, in KiB (Linux reports `ru_maxrss` in KiB, macOS in bytes).
func maxRSSKiB() -> Int {
    var usage = rusage()
    #if canImport(Darwin)
        getrusage(RUSAGE_SELF, &usage)
        return Int(usage.ru_maxrss) / 1024
    #else
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss)
    #endif
}

func report(_ op: String, seconds: Double, _ fields: [String: Any]) {
    var line: [String: Any] = ["tool": "fanout", "op": op, "seconds": (seconds * 10000).rounded() / 10000]
    line.merge(fields) { $1 }
    line["max_rss_kib"] = maxRSSKiB()
    let data = (try? JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])) ?? Data("{}".utf8)
    print(String(decoding: data, as: UTF8.self))
}

func seconds(since start: ContinuousClock.Instant) -> Double {
    let (whole, fraction) = (ContinuousClock.now - start).components
    return Double(whole) + Double(fraction) / 1e18
}

func key(_ prefix: String, _ index: Int) -> String {
    prefix + String(repeating: "0", count: max(0, 8 - String(index).count)) + String(index)
}

/// Runs `operation` for 0..<count with `concurrency` in flight; the first failure is thrown.
func forEachConcurrently(
    _ count: Int, concurrency: Int, _ operation: @escaping @Sendable (Int) async throws -> Void
) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        var next = 0
        while next < min(concurrency, count) {
            let index = next
            group.addTask { try await operation(index) }
            next += 1
        }
        while try await group.next() != nil, next < count {
            let index = next
            group.addTask { try await operation(index) }
            next += 1
        }
        try await group.waitForAll()
    }
}

func list(_ store: S3ObjectStore, prefix: String) async throws {
    let start = ContinuousClock.now
    var keys = 0
    for try await page in store.list(prefix: prefix, options: ListOptions(pageSize: 1000)).pages {
        keys += page.objects.count
    }
    report("list", seconds: seconds(since: start), ["keys": keys])
}

/// Creates the keys `bench_boto3.py seed` would (one byte each), faster, so that big listings are quick to set up.
func seed(_ store: S3ObjectStore, _ arguments: Arguments) async throws {
    let prefix = arguments.prefix
    let start = ContinuousClock.now
    try await forEachConcurrently(arguments.count, concurrency: arguments.concurrency) { index in
        try await store.put(key: key(prefix, index), data: Data("x".utf8))
    }
    report("seed", seconds: seconds(since: start), ["keys": arguments.count])
}

func putGet(_ store: S3ObjectStore, _ arguments: Arguments) async throws {
    var generator = SystemRandomNumberGenerator()
    let body = Data((0..<arguments.size).map { _ in UInt8.random(in: 0...255, using: &generator) })
    let prefix = arguments.prefix
    let size = arguments.size
    let phases: [(String, @Sendable (Int) async throws -> Void)] = [
        ("put", { index in try await store.put(key: key(prefix, index), data: body) }),
        ("get", { index in
            let data = try await store.get(key: key(prefix, index))
            guard data.count == size else {
                throw ObjectStoreError(
                    code: .corrupt, message: "GET \(key(prefix, index)) returned \(data.count) bytes, expected \(size)")
            }
        }),
    ]
    for (op, operation) in phases {
        let start = ContinuousClock.now
        try await forEachConcurrently(arguments.count, concurrency: arguments.concurrency, operation)
        let elapsed = seconds(since: start)
        report(op, seconds: elapsed, [
            "objects": arguments.count, "bytes": arguments.count * arguments.size,
            "concurrency": arguments.concurrency,
            "objects_per_second": (Double(arguments.count) / elapsed * 10).rounded() / 10,
        ])
    }
}

// In a pod of `kube-linecount`, this runs the assigned shard and exits.
await Fanout.bootstrap(countLines)

let arguments: Arguments
do {
    arguments = try Arguments(Array(CommandLine.arguments.dropFirst()))
} catch {
    FileHandle.standardError.write(Data((Arguments.usage + "\n").utf8))
    exit(64)
}

if arguments.command == "kube-linecount" {
    do {
        try await kubernetesLineCount(arguments)
    } catch {
        FileHandle.standardError.write(Data("FanoutBench: \(error)\n".utf8))
        exit(1)
    }
    exit(0)
}

var configuration = S3Configuration.fromEnvironment()
configuration.endpoint = arguments.endpoint
configuration.addressing = .path
let store = S3Client(configuration: configuration).store(bucket: arguments.bucket)
do {
    switch arguments.command {
    case "list":
        try await list(store, prefix: arguments.prefix)
    case "wordcount":
        try await wordCount(arguments, s3: store.client)
    case "seed":
        try await store.client.createBucket(arguments.bucket)
        try await seed(store, arguments)
    default:
        try await store.client.createBucket(arguments.bucket)
        try await putGet(store, arguments)
    }
} catch {
    FileHandle.standardError.write(Data("FanoutBench: \(error)\n".utf8))
    exit(1)
}
