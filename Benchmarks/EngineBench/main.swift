// Maps a trivial step (the file's byte count) over a folder and prints one JSON line with the time taken and the
// process's peak memory. Used by scripts/bench-engine, side by side with xargs and a Python pool.
//
//   fanout-bench-engine DIR in-process|processes|loop [WORKERS]
//   fanout-bench-engine LOCATION plan
//
// `loop` is the floor the engine is measured against: a plain loop that walks the folder and reads every file on
// WORKERS threads, with no planning, no stored results and no de-duplication. `plan` lists LOCATION (a folder or an
// `s3://` prefix), plans and stores the run without running it: the driver's memory for listing and planning.
import Fanout
import Foundation

let byteCount = MapStep("bench-byte-count", version: "1") { file in try await file.bytes().count }
await Fanout.bootstrap(byteCount)

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data(
        "usage: fanout-bench-engine DIR in-process|processes|loop [WORKERS]\n       fanout-bench-engine LOCATION plan\n".utf8))
    exit(2)
}
let folder = arguments[1]
let workers = arguments.count > 3 ? Int(arguments[3]) ?? ProcessInfoCores.count : ProcessInfoCores.count
let state = FileManager.default.temporaryDirectory.appendingPathComponent("fanout-bench-\(UUID().uuidString)").path + "/"
defer { try? FileManager.default.removeItem(atPath: state) }

/// Prints the benchmark's one JSON line.
func report(_ tool: String, files: Int, bytes: Int, since start: ContinuousClock.Instant) {
    let elapsed = ContinuousClock.now - start
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    print("{\"tool\":\"\(tool)\",\"files\":\(files),\"bytes\":\(bytes),\"seconds\":\(seconds),\"max_rss_kib\":\(usage.ru_maxrss)}")
}

if arguments[2] == "loop" {
    let start = ContinuousClock.now
    let (files, bytes) = PlainLoop.byteCount(folder: folder, threads: workers)
    report("swift-loop", files: files, bytes: bytes, since: start)
    exit(0)
}

var options = RunOptions(state: state, cache: false)
if arguments[2] == "plan" {
    let start = ContinuousClock.now
    let run = try await Fanout(options: options).map(byteCount, over: Input(folder))
    report("fanout-plan", files: run.fileCount, bytes: 0, since: start)
    exit(0)
}
switch arguments[2] {
case "processes":
    options.backend = ProcessBackend(workers: workers, filesInFlight: 8, arguments: Array(arguments.dropFirst()))
    options.sharding = .shards(workers * 4)
default:
    options.backend = InProcessBackend(parallelism: workers, filesPerShardInFlight: 16)
}

let clock = ContinuousClock()
let start = clock.now
let run = try await Fanout(options: options).map(byteCount, over: Input(folder))
var files = 0
var bytes = 0
for try await outcome in run {
    files += 1
    bytes += outcome.value ?? 0
}
report("fanout-\(arguments[2])", files: files, bytes: bytes, since: start)
