import FanoutTestSupport
import Foundation
import Testing

/// The notebook-style examples, run as the README shows, on a copy of the sample corpus; their totals are checked
/// against counts made here.
@Suite struct ExamplesTests {
    private static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Examples/corpus")

    private func example(_ name: String) throws -> URL {
        try FanoutBinary.location().deletingLastPathComponent().appendingPathComponent(name)
    }

    /// Runs `body` on a fresh copy of the corpus, with its text files by relative path.
    private func withCorpus(_ body: (URL, [String: String]) async throws -> Void) async throws {
        try await withTemporaryDirectory { folder in
            let copy = folder.appendingPathComponent("corpus")
            try FileManager.default.copyItem(at: Self.corpus, to: copy)
            // State left by an earlier run of the examples in the checkout.
            try? FileManager.default.removeItem(at: copy.appendingPathComponent(".fanout"))
            var texts: [String: String] = [:]
            for case let path as String in FileManager.default.enumerator(atPath: copy.path)! {
                let url = copy.appendingPathComponent(path)
                var isFolder: ObjCBool = false
                if FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), !isFolder.boolValue {
                    texts[path] = try String(contentsOf: url, encoding: .utf8)
                }
            }
            try #require(texts.count >= 5)
            try await body(copy, texts)
        }
    }

    @Test(arguments: [[], ["--processes", "2"]])
    func wordCountMatchesACountMadeHere(extra: [String]) async throws {
        try await withCorpus { corpus, texts in
            var counts: [String: Int] = [:]
            for text in texts.values {
                for word in text.lowercased().split(whereSeparator: { !$0.isLetter && $0 != "'" }) {
                    counts[String(word), default: 0] += 1
                }
            }
            let result = try await runProcess(
                try example("word-count"), [corpus.path, "--top", "3"] + extra,
                environment: ProcessInfo.processInfo.environment)
            #expect(result.status == 0, "\(result.stderr)")
            let header = "\(texts.count) files, \(counts.values.reduce(0, +)) words, \(counts.count) distinct"
            #expect(result.lines.first?.hasPrefix(header) == true, "\(result.stdout)")
            let top = counts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(3)
            let printed = result.lines.dropFirst().map { $0.split(separator: " ", omittingEmptySubsequences: true) }
            #expect(printed.map { "\($0.last ?? "") \($0.first ?? "")" } == top.map { "\($0.key) \($0.value)" })
        }
    }

    /// A file that fails does not crash the program: the good files' totals are printed, then one line on standard
    /// error, and the exit status is 1 (not a signal, as a trap at the end of a `for try await` loop would give).
    @Test(arguments: [[], ["--processes", "2"]])
    func wordCountOverAFailingFilePrintsTheGoodFilesThenOneLine(extra: [String]) async throws {
        try await withCorpus { corpus, texts in
            try Data([0x62, 0x69, 0x6E, 0xFF, 0xFE, 0x0A]).write(to: corpus.appendingPathComponent("image.bin"))
            let words = texts.values.reduce(0) { total, text in
                total + text.lowercased().split(whereSeparator: { !$0.isLetter && $0 != "'" }).count
            }
            let result = try await runProcess(
                try example("word-count"), [corpus.path, "--top", "3"] + extra,
                environment: ProcessInfo.processInfo.environment)
            #expect(result.status == 1, "\(result.stderr)")
            let header = "\(texts.count + 1) files, \(words) words"
            #expect(result.lines.first?.hasPrefix(header) == true, "\(result.stdout)")
            #expect(result.lines.contains("failed: image.bin: image.bin is not UTF-8 text"), "\(result.stdout)")
            let errors = result.stderr.split(separator: "\n")
            #expect(errors == ["word-count: 1 of \(texts.count + 1) files failed, more than the run tolerates (none); "
                + "raise the tolerance or fix the failing files, then re-run (stored results are reused)"])
        }
    }

    /// The fleet example shows how it would place a run without reaching any cluster, and refuses what no
    /// cluster of its fleet offers.
    @Test func fleetLineCountPlacesByCapacityAndRefusesWhatNoClusterOffers() async throws {
        let example = try example("fleet-line-count")
        let environment = ProcessInfo.processInfo.environment
        let placement = try await runProcess(example, ["s3://bucket/in/", "--placement"], environment: environment)
        #expect(placement.status == 0, "\(placement.stderr)")
        #expect(placement.lines == [
            "plain: 4 of 6 shards on test-zone-a test-standard", "gpus: 2 of 6 shards on test-zone-b test-gpu",
        ])
        let refused = try await runProcess(
            example, ["s3://bucket/in/", "--accelerator", "nvidia-h100", "--placement"], environment: environment)
        #expect(refused.status == 1)
        #expect(refused.stderr.hasPrefix("fleet-line-count: ") && refused.stderr.contains("nvidia-h100"), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1)
    }

    @Test func anInputThatIsNotThereIsOneLineAndStatus1() async throws {
        try await withTemporaryDirectory { folder in
            let missing = folder.appendingPathComponent("missing").path
            for name in ["word-count", "file-stats", "log-levels"] {
                let result = try await runProcess(
                    try example(name), [missing], environment: ProcessInfo.processInfo.environment)
                #expect(result.status == 1, "\(name): \(result.stderr)")
                #expect(result.stdout.isEmpty)
                let errors = result.stderr.split(separator: "\n")
                #expect(errors.count == 1 && errors[0].hasPrefix("\(name): no such file or folder"), "\(result.stderr)")
            }
        }
    }

    @Test func logLevelsCountsEachServicesLevelsAndErrors() async throws {
        let logs = Self.corpus.deletingLastPathComponent().appendingPathComponent("logs")
        try await withTemporaryDirectory { folder in
            let copy = folder.appendingPathComponent("logs")
            try FileManager.default.copyItem(at: logs, to: copy)
            try? FileManager.default.removeItem(at: copy.appendingPathComponent(".fanout"))
            // The counts, made here from the same files.
            var levels: [String: Int] = [:]
            var errors: [String: Int] = [:]
            var unreadable = 0
            let names = try FileManager.default.contentsOfDirectory(atPath: copy.path).filter { $0.hasSuffix(".jsonl") }
            for name in names {
                let text = try String(contentsOf: copy.appendingPathComponent(name), encoding: .utf8)
                for line in text.split(separator: "\n") {
                    guard let entry = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String],
                        let service = entry["service"], let level = entry["level"], let message = entry["message"]
                    else {
                        unreadable += 1
                        continue
                    }
                    levels["\(service) \(level)", default: 0] += 1
                    if level == "error" { errors[message, default: 0] += 1 }
                }
            }
            try #require(unreadable == 1 && errors.count >= 3)

            let result = try await runProcess(
                try example("log-levels"), [copy.path, "--processes", "2"], environment: ProcessInfo.processInfo.environment)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.lines.first == "\(names.count) files, \(levels.values.reduce(0, +)) log lines, 1 unreadable")
            var printed: [String: Int] = [:]
            for line in result.lines where line.hasPrefix("  ") && !line.contains("most frequent") {
                let words = line.split(separator: " ")
                if words.count == 3, let count = Int(words[2]) { printed["\(words[0]) \(words[1])"] = count }
            }
            #expect(printed == levels)
            let topCount = errors.values.max()!
            let topMessages = Set(errors.filter { $0.value == topCount }.keys)
            let firstError = result.lines.drop { $0 != "most frequent errors:" }.dropFirst().first ?? ""
            #expect(firstError.hasPrefix("  \(topCount)  ") && topMessages.contains { firstError.hasSuffix($0) }, "\(result.stdout)")
        }
    }

    @Test func fileStatsCountsEveryLine() async throws {
        try await withCorpus { corpus, texts in
            let lines = texts.values.reduce(0) { total, text in
                let parts = text.split(separator: "\n", omittingEmptySubsequences: false)
                return total + parts.count - (parts.last?.isEmpty == true ? 1 : 0)
            }
            let result = try await runProcess(
                try example("file-stats"), [corpus.path, "--processes", "2"],
                environment: ProcessInfo.processInfo.environment)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.lines.first?.hasPrefix("\(texts.count) files, \(lines) lines") == true, "\(result.stdout)")
            let buckets = result.lines.filter { $0.contains(" bytes: ") }
            let histogramTotal = buckets.compactMap { Int($0.split(separator: " ").last ?? "") }.reduce(0, +)
            #expect(histogramTotal == texts.count)
        }
    }
}
