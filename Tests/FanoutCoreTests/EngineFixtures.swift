import Foundation
import Synchronization
import Testing
@testable import FanoutCore
import FanoutStorage

/// A temporary folder of input files for engine tests.
struct Corpus {
    let root: URL

    /// `count` files `f00000.txt`... whose sizes are `ordinal % 97 + 1` bytes, plus any extra files given.
    static func make(count: Int, extra: [String: String] = [:]) throws -> Corpus {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("fanout-corpus-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        for index in 0..<count {
            let name = String(format: "f%05d.txt", index)
            try Data(repeating: UInt8(ascii: "a"), count: index % 97 + 1).write(to: root.appendingPathComponent(name))
        }
        for (name, text) in extra {
            let url = root.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        return Corpus(root: root)
    }

    var path: String { root.path + "/" }

    /// A state prefix of its own, beside the folder (never in it), for tests that look at the stored state.
    var state: String { root.path + "-state/" }

    func remove() {
        try? FileManager.default.removeItem(at: root)
        try? FileManager.default.removeItem(atPath: state)
    }

    /// Expected byte counts by key for ``make(count:extra:)``'s numbered files.
    static func expectedSizes(count: Int) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: (0..<count).map { (String(format: "f%05d.txt", $0), $0 % 97 + 1) })
    }
}

/// The test worker executable, built beside the test bundle.
enum TestWorker {
    static var path: String {
        get throws {
            var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            for _ in 0..<4 {
                let candidate = folder.appendingPathComponent("FanoutTestWorker")
                if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate.path }
                folder = folder.deletingLastPathComponent()
            }
            let built = FileManager.default.currentDirectoryPath + "/.build/debug/FanoutTestWorker"
            if FileManager.default.isExecutableFile(atPath: built) { return built }
            Issue.record("FanoutTestWorker is not built: run `swift build --build-tests` first")
            throw CancellationError()
        }
    }

    /// The process ids of the test workers running for `runID`: other suites run workers of their own meanwhile.
    static func pids(ofRun runID: String) -> [Int32] {
        let workers = ChildProcess.running.withLock { $0.filter { $0.value.hasSuffix("/FanoutTestWorker") }.map(\.key) }
        return workers.filter { environment(of: $0)["FANOUT_WORKER_RUN"] == runID }
    }

    /// A running process's environment, read from `/proc`; empty once it has exited.
    static func environment(of pid: Int32) -> [String: String] {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return [:] }
        let pairs = data.split(separator: 0).compactMap { entry -> (String, String)? in
            let text = String(decoding: entry, as: UTF8.self)
            guard let equals = text.firstIndex(of: "=") else { return nil }
            return (String(text[..<equals]), String(text[text.index(after: equals)...]))
        }
        return Dictionary(pairs, uniquingKeysWith: { _, last in last })
    }

    static func backend(workers: Int = 2) throws -> ProcessBackend {
        ProcessBackend(workers: workers, filesInFlight: 4, executable: try path, arguments: [])
    }
}

/// Reads a run to its end, checking that no file appears twice.
func collect<Output>(_ run: MapRun<Output>) async throws -> [String: FileOutcome<Output>] {
    var outcomes: [String: FileOutcome<Output>] = [:]
    for try await outcome in run {
        #expect(outcomes[outcome.key] == nil, "\(outcome.key) was reported twice")
        outcomes[outcome.key] = outcome
    }
    return outcomes
}
