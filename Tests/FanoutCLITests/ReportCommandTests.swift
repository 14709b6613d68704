import FanoutTestSupport
import Foundation
import Testing

/// `fanout report RUN` writes the run's page, or its timeline alone.
@Suite struct ReportCommandTests {
    @Test func aReportOfARunNamesItsFilesAndDrawsEachAttempt() async throws {
        try await withTemporaryDirectory { root in
            let input = root.appendingPathComponent("in")
            try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
            for index in 0..<6 { try Data("\(index)\n".utf8).write(to: input.appendingPathComponent("f\(index).txt")) }
            try Data("x\n".utf8).write(to: input.appendingPathComponent("bad <name>.txt"))
            var environment = try FanoutBinary.environment()
            environment["XDG_STATE_HOME"] = root.path
            let run = try await FanoutBinary.run(
                ["run", input.path, "--shards", "3", "--tolerate-failures", "1", "--json", "--", "sh", "-c",
                 #"case "$1" in *bad*) echo "no good: $1" >&2; exit 4;; esac; cat "$1""#, "_", "{}"],
                environment: environment)
            #expect(run.status == 3, "\(run.stderr)")
            let summary = try #require(run.stdout.split(separator: "\n").last)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(summary.utf8)) as? [String: Any])
            let runID = try #require(object["run"] as? String)

            let page = root.appendingPathComponent("report.html")
            let written = try await FanoutBinary.run(
                ["report", runID, "-o", page.path], environment: environment)
            #expect(written.status == 0 && written.stdout == page.path + "\n", "\(written.stderr)")
            let html = try String(contentsOf: page, encoding: .utf8)
            #expect(html.hasPrefix("<!DOCTYPE html>") && !html.contains("<script"))
            #expect(html.components(separatedBy: "class=\"attempt\"").count - 1 == 3, "one bar per shard's attempt")
            // The failed file, its name and its standard error escaped.
            #expect(html.contains("bad &lt;name&gt;.txt") && html.contains("no good:"))
            #expect(html.contains("<h2>Failed files (1)</h2>"))

            let svg = try await FanoutBinary.run(["report", runID, "--svg", "-o", "-"], environment: environment)
            #expect(svg.status == 0 && svg.stdout.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
            let refused = try await FanoutBinary.run(["report", runID, "-o", "-", "--open"], environment: environment)
            #expect(refused.status == 64 && refused.stderr.contains("--open needs a file"))
            let unknown = try await FanoutBinary.run(["report", "20990101-000000-00000000"], environment: environment)
            #expect(unknown.status != 0 && !unknown.stderr.isEmpty)
        }
    }
}
