import Fanout
import Foundation
import Synchronization

/// The lines of a file: its newline bytes, as `wc -l` counts them.
let countLines = MapStep("bench-line-count", version: "1") { file -> Int in
    try await file.bytes().reduce(0) { $1 == 0x0A ? $0 + 1 : $0 }
}

/// A line count on the Kubernetes backend with one tiny local file per shard, so every shard is a pod of the test
/// server (whose pods are processes of this machine, reading its files): the files and the run's state are in a
/// fresh temporary folder. The pods run this executable from where it is (`shipExecutable` off) unless `--ship`
/// is given, then it is shipped through the state folder and each pod's init container copies it. Backup attempts
/// for stragglers are on, as by default, unless `--no-backups` is given.
///
/// Prints one line: the wall seconds of the run (plan to sum), the Jobs created, the backend's API requests, this
/// process's CPU seconds over the run, and whether the sum is the lines written.
func kubernetesLineCount(_ arguments: Arguments) async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fanout-bench-kube-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: folder) }
    let input = folder.appendingPathComponent("in")
    try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
    var expected = 0
    for index in 0..<arguments.count {
        let lines = index % 5 + 1
        expected += lines
        try Data(String(repeating: "line\n", count: lines).utf8)
            .write(to: input.appendingPathComponent(key("", index)))
    }

    var kubernetes = KubernetesBackend.Options()
    kubernetes.namespace = arguments.namespace
    kubernetes.parallelism = arguments.parallelism
    kubernetes.podsShareLocalFiles = true
    kubernetes.filesInFlight = 1
    if !arguments.ship {
        // The test server's pods run on this machine, so this path is where they find the program.
        kubernetes.shipExecutable = false
        kubernetes.command = [URL(fileURLWithPath: CommandLine.arguments[0]).path]
    }
    let seen = Mutex<(jobs: Int, apiRequests: Int?)>((0, nil))
    var options = RunOptions(
        backend: KubernetesBackend(options: kubernetes), sharding: .filesPerShard(1),
        state: folder.appendingPathComponent("state").path + "/", cache: false)
    if !arguments.backups { options.backups = nil }
    options.onEvent = { event in
        guard case .backend(let detail) = event, let event = detail as? KubernetesBackendEvent else { return }
        switch event {
        case .jobsCreated(let names): seen.withLock { $0.jobs += names.count }
        case .finished(_, let requests): seen.withLock { $0.apiRequests = requests }
        default: break
        }
    }

    let cpuBefore = cpuSeconds()
    let start = ContinuousClock.now
    var lines = 0
    var failure: String?
    var shards = 0
    do {
        let run = try await Fanout(options: options).map(countLines, over: Input(input.path + "/"))
        shards = run.shardCount
        lines = try await run.aggregate(Sum<Int>())
    } catch {
        failure = String(describing: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
    }
    let (jobs, apiRequests) = seen.withLock { $0 }
    var fields: [String: Any] = [
        "files": arguments.count, "shards": shards, "parallelism": arguments.parallelism ?? 0, "jobs": jobs,
        "api_requests": apiRequests ?? -1, "lines": lines, "expected_lines": expected,
        "exact": failure == nil && lines == expected, "shipped": arguments.ship,
        "backups": arguments.backups,
        "cpu_seconds": ((cpuSeconds() - cpuBefore) * 10).rounded() / 10,
    ]
    if let failure { fields["error"] = failure }
    report("kube-linecount", seconds: seconds(since: start), fields)
}
