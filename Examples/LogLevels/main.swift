// JSON-lines logs: how many lines of each level each service wrote, and the most frequent error messages. Each
// file is parsed where the map runs; only a small typed summary per file travels back and is folded here.
//
//   swift run log-levels Examples/logs
//   swift run log-levels s3://my-bucket/logs/2024/ --processes 4
import Fanout
import Foundation

/// One log line, as far as this report needs it.
struct LogLine: Decodable {
    var service: String
    var level: String
    var message: String
}

/// What one file contributes.
struct FileReport: Codable, Sendable {
    /// Lines by "service level".
    var levels: [String: Int] = [:]
    /// Error messages by text.
    var errors: [String: Int] = [:]
    /// Lines that are not a log entry.
    var unreadable = 0
}

let summarize = MapStep("log-levels", version: "1") { file -> FileReport in
    var report = FileReport()
    let decoder = JSONDecoder()
    for try await line in try await file.lines() where !line.isEmpty {
        guard let entry = try? decoder.decode(LogLine.self, from: Data(line.utf8)) else {
            report.unreadable += 1
            continue
        }
        report.levels["\(entry.service) \(entry.level)", default: 0] += 1
        if entry.level == "error" { report.errors[entry.message, default: 0] += 1 }
    }
    return report
}

await Fanout.bootstrap(summarize)

/// Ends the program with one line saying what went wrong, and status 1.
func fail(_ error: any Error) -> Never {
    let line = String(describing: error).split(separator: "\n").first ?? ""
    FileHandle.standardError.write(Data("log-levels: \(line)\n".utf8))
    exit(1)
}

let arguments = CommandLine.arguments.dropFirst()
guard let input = arguments.first else {
    print("usage: log-levels PREFIX [--processes N]")
    exit(2)
}
var options = RunOptions()
if let index = arguments.firstIndex(of: "--processes"), index + 1 < arguments.endIndex,
    let workers = Int(arguments[index + 1])
{
    options.backend = ProcessBackend(workers: workers)
}

do {
    let input = Input(input, filter: FileFilter(include: ["*.jsonl"]))
    let run = try await Fanout(options: options).map(summarize, over: input)
    var levels = MergeDictionaries<String, Int>.adding
    var errors = MergeDictionaries<String, Int>.adding
    var unreadable = Sum<Int>()
    // The values of the files that worked; the failed ones are counted by checkTolerance() below.
    for try await report in run.values() {
        levels.add(report.levels)
        errors.add(report.errors)
        unreadable.add(report.unreadable)
    }

    print("\(run.fileCount) files, \(levels.result.values.reduce(0, +)) log lines, \(unreadable.result) unreadable")
    for (key, count) in levels.result.sorted(by: { $0.key < $1.key }) {
        print("  \(key.padding(toLength: 20, withPad: " ", startingAt: 0)) \(count)")
    }
    var top = TopK<(String, Int)>(3) { Double($0.1) }
    for (message, count) in errors.result { top.add((message, count)) }
    print("most frequent errors:")
    for (message, count) in top.result { print("  \(count)  \(message)") }
    try run.checkTolerance()
} catch {
    fail(error)
}
