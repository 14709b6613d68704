import FanoutCore
@testable import FanoutKubernetes
import FanoutStorage
import FanoutTestSteps
import FanoutTestSupport
import Foundation
import Testing

extension KubernetesTests {
    /// `fanout report`'s data and page, for a run with cached files, failed files, a retry and a disruption, drawn
    /// by a real headless Chromium.
    @Suite struct RunReportTests {
        @Test func aReportShowsEveryAttemptAndTheBrowserDrawsEachOutcome() async throws {
            try await KubeTestServer.withNamespace { namespace, client in
                let root = FileManager.default.temporaryDirectory.appendingPathComponent(
                    "fanout-report-\(UUID().uuidString)")
                try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
                let input = InputFolder(root: root)
                defer { input.remove() }
                func write(_ names: [String]) throws {
                    for name in names { try Data(name.utf8).write(to: root.appendingPathComponent(name)) }
                }
                var options = try testOptions(namespace: namespace)
                options.filesInFlight = 1
                let backend = KubernetesBackend(options: options, client: client)

                // A first run computes four files, which the second reuses.
                try write((0..<4).map { "a\($0).txt" })
                let first = try await Fanout(
                    options: RunOptions(backend: backend, sharding: .shards(1), state: input.state)
                ).map(TestSteps.slowFailOnBad, over: Input(input.path))
                #expect(try await collectOutcomes(first).count == 4)

                // The second: eight new files, two of which fail; one pod is preempted and one killed mid-shard.
                try write((0..<6).map { "b\($0).txt" } + ["bad-1.txt", "bad-2.txt"])
                let run = try await Fanout(
                    options: RunOptions(
                        backend: backend, sharding: .shards(2), state: input.state, tolerance: .fraction(1))
                ).map(TestSteps.slowFailOnBad, over: Input(input.path))
                let consumer = Task { try await collectOutcomes(run) }
                var stopped: [String] = []
                try await eventually(.seconds(60), "both first attempts running") {
                    let pods = try await client.list(
                        Pod.self, labelSelector: "fanout.dev/run=\(run.id),fanout.dev/attempt=1"
                    ).items.filter { $0.phase == "Running" }
                    stopped = pods.compactMap(\.metadata.name)
                    return stopped.count == 2
                }
                try await KubeTestServer.disrupt(pod: stopped[0], namespace: namespace)
                try await KubeTestServer.kill(pod: stopped[1], namespace: namespace)
                let outcomes = try await consumer.value
                #expect(outcomes.count == 12)

                let catalog = try RunCatalog(state: input.state, stores: ObjectStores().with(try makeS3Client()))
                let report = try await catalog.report(run.id)
                #expect(report.cached == 4 && report.computed == 8, "\(report.cached) \(report.computed)")
                #expect(report.failedCount == 2)
                #expect(report.failures.map(\.key) == ["bad-1.txt", "bad-2.txt"])
                #expect(report.failures.allSatisfy { $0.message.contains("refusing bad-") })
                #expect(report.outcomes["disrupted"] == 1 && report.outcomes["failed"] == 1, "\(report.outcomes)")
                #expect(report.outcomes["succeeded"] == 2, "\(report.outcomes)")
                #expect(report.retriesUsed == 1)
                #expect(Set(report.attempts.map(\.shard)) == [0, 1])
                #expect(report.attempts.allSatisfy { $0.ended != nil && $0.running != nil })
                #expect(report.filesPerSecond.reduce(0, +) == 8)
                #expect(report.durationHistogram.reduce(0, +) == 8)
                #expect(report.slowest.count == 8 && report.slowest.allSatisfy { $0.seconds >= 0.3 })

                // Every attempt has its bar, coloured by how it ended.
                let svg = report.timelineSVG()
                #expect(svg.components(separatedBy: "class=\"attempt\"").count - 1 == report.attempts.count)
                for attempt in report.attempts {
                    #expect(svg.contains("data-shard=\"\(attempt.shard)\" data-attempt=\"\(attempt.attempt)\""))
                }
                let page = report.html()
                #expect(page.contains("refusing bad-1.txt") && !page.contains("<script"))
                #expect(!page.contains("src=") && !page.contains("href=") && !page.contains("url("), "nothing from elsewhere")

                let drawn = try await Chromium.render(page)
                #expect(drawn.errors.isEmpty, "\(drawn.errors)")
                for outcome in ["succeeded", "failed", "disrupted"] {
                    let color = AttemptColors.color(outcome: outcome, backup: false)
                    #expect((drawn.pixels[color] ?? 0) > 20, "\(outcome) (\(color)) drawn: \(drawn.pixels)")
                }
                #expect((drawn.pixels[AttemptColors.color(outcome: "oomKilled", backup: false)] ?? 0) == 0)
            }
        }
    }
}

/// Debian's Chromium, headless: renders a page to a screenshot and counts its pixels of given colours.
enum Chromium {
    struct Drawing {
        /// Pixels of each outcome colour (`#rrggbb`).
        var pixels: [String: Int]
        /// What the browser logged about the page: console messages, resources it could not load.
        var errors: [String]
    }

    static func render(_ html: String) async throws -> Drawing {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fanout-chromium-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let page = folder.appendingPathComponent("report.html")
        let shot = folder.appendingPathComponent("report.png")
        try Data(html.utf8).write(to: page)
        let browser = try await ChildProcess.run(
            "chromium",
            arguments: [
                "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr",
                "--user-data-dir=\(folder.path)/profile", "--window-size=1100,1600",
                "--screenshot=\(shot.path)", page.absoluteString,
            ])
        #expect(browser.succeeded, "chromium: \(browser.errorTail)")
        let log = browser.errorTail.split(separator: "\n").map(String.init)
        let errors = log.filter { $0.contains("CONSOLE") || $0.contains("net::ERR") || $0.contains("Failed to load") }
        let colors = ["succeeded", "failed", "disrupted", "oomKilled", "crashed", "cancelled"].map {
            AttemptColors.color(outcome: $0, backup: false)
        }
        let script = """
            import json, sys
            from PIL import Image
            wanted = {c: tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in sys.argv[2:]}
            counts = {c: 0 for c in wanted}
            for pixel in Image.open(sys.argv[1]).convert("RGB").getdata():
                for c, rgb in wanted.items():
                    if pixel == rgb:
                        counts[c] += 1
            print(json.dumps(counts))
            """
        let counted = try await ChildProcess.run("python3", arguments: ["-c", script, shot.path] + colors)
        #expect(counted.succeeded, "pillow: \(counted.errorTail)")
        let pixels = try JSONDecoder().decode([String: Int].self, from: counted.standardOutput)
        return Drawing(pixels: pixels, errors: errors)
    }
}
