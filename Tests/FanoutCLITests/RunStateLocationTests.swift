import FanoutTestSupport
import Foundation
import Testing

/// Where a run's state goes: under the user's state folder, never in the input; and every command finds a run
/// started on this machine without `--state`.
@Suite(.serialized) struct RunStateLocationTests {
    /// `count` files `n-000.txt`... in `folder`, of one line each.
    func corpus(_ folder: URL, count: Int) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for index in 0..<count {
            let name = String(format: "n-%03d.txt", index)
            try Data("line \(index)\n".utf8).write(to: folder.appendingPathComponent(name))
        }
    }

    /// The test environment with the user's state folder in `folder`, no configuration file, and `folder/work`
    /// as the working directory's stand-in (commands run from the test's own).
    func environment(_ folder: URL) throws -> [String: String] {
        var environment = try FanoutBinary.environment()
        environment["XDG_STATE_HOME"] = folder.appendingPathComponent("xdg-state").path
        environment["XDG_CONFIG_HOME"] = folder.appendingPathComponent("xdg-config").path
        environment["FANOUT_STATE"] = nil
        environment["FANOUT_CONFIG"] = nil
        return environment
    }

    /// Every path below `folder`, with its permissions, sizes and modification times.
    func snapshot(_ folder: URL) throws -> [String: String] {
        var entries: [String: String] = [:]
        for path in try FileManager.default.subpathsOfDirectory(atPath: folder.path) {
            let attributes = try FileManager.default.attributesOfItem(atPath: folder.path + "/" + path)
            entries[path] = "\(attributes[.size] ?? "") \(attributes[.modificationDate] ?? "")"
        }
        return entries
    }

    func lastJSON(_ result: FanoutBinary.Result) -> [String: Any]? {
        result.lines.last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    @Test func aReadOnlyInputFolderWorksAndStaysUntouched() async throws {
        try await withTemporaryDirectory { folder in
            let input = folder.appendingPathComponent("input")
            try corpus(input, count: 5)
            let before = try snapshot(input)
            try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: input.path)
            defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: input.path) }
            let environment = try environment(folder)
            let run = try await FanoutBinary.run(
                ["run", input.path, "--reduce", "count", "-q", "--", "cat", "{}"], environment: environment)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout == "5\n")
            #expect(try snapshot(input) == before, "nothing in the input changed")
            #expect(!FileManager.default.fileExists(atPath: input.appendingPathComponent(".fanout").path))
            // The state is in the user's state folder.
            let stored = try FileManager.default.subpathsOfDirectory(
                atPath: folder.appendingPathComponent("xdg-state/fanout/state").path)
            #expect(stored.contains { $0.hasSuffix("/spec.json") }, "\(stored)")
        }
    }

    @Test func listingTheInputAfterARunShowsNoState() async throws {
        try await withTemporaryDirectory { folder in
            let input = folder.appendingPathComponent("input")
            try corpus(input, count: 3)
            let environment = try environment(folder)
            let run = try await FanoutBinary.run(["run", input.path, "-q", "--", "cat", "{}"], environment: environment)
            #expect(run.status == 0, "\(run.stderr)")
            let listing = try await FanoutBinary.run(["ls", input.path, "--json"], environment: environment)
            #expect(listing.status == 0, "\(listing.stderr)")
            let keys = listing.lines.compactMap { line in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["key"] as? String
            }
            #expect(keys.sorted() == ["n-000.txt", "n-001.txt", "n-002.txt"], "\(listing.stdout)")
        }
    }

    @Test func aRunOverAParentFolderCountsOnlyTheFiles() async throws {
        try await withTemporaryDirectory { folder in
            let parent = folder.appendingPathComponent("parent")
            try corpus(parent.appendingPathComponent("child"), count: 3)
            try Data("top\n".utf8).write(to: parent.appendingPathComponent("top.txt"))
            let environment = try environment(folder)
            let child = try await FanoutBinary.run(
                ["run", parent.appendingPathComponent("child").path, "-q", "--", "cat", "{}"], environment: environment)
            #expect(child.status == 0, "\(child.stderr)")
            let whole = try await FanoutBinary.run(
                ["run", parent.path, "--reduce", "count", "-q", "--", "cat", "{}"], environment: environment)
            #expect(whole.status == 0, "\(whole.stderr)")
            #expect(whole.stdout == "4\n", "the three files of child/ and top.txt, no state")
        }
    }

    @Test func everyCommandFindsALocalRunWithoutState() async throws {
        try await withTemporaryDirectory { folder in
            let input = folder.appendingPathComponent("input")
            try corpus(input, count: 4)
            let environment = try environment(folder)
            let run = try await FanoutBinary.run(
                ["run", input.path, "--reduce", "count", "--json", "--", "cat", "{}"], environment: environment)
            #expect(run.status == 0, "\(run.stderr)")
            let runID = try #require(lastJSON(run)?["run"] as? String, "\(run.stdout)")
            let state = folder.appendingPathComponent("xdg-state/fanout/state").path + "/"

            let runs = try await FanoutBinary.run(["runs"], environment: environment)
            #expect(runs.status == 0, "\(runs.stderr)")
            let line = try #require(runs.lines.first { $0.hasPrefix(runID) }, "\(runs.stdout)")
            #expect(line.contains("complete") && line.hasSuffix(state), "the run and where its state is: \(line)")

            let status = try await FanoutBinary.run(["status", runID, "--json"], environment: environment)
            #expect(status.status == 0, "\(status.stderr)")
            #expect(lastJSON(status)?["status"] as? String == "complete", "\(status.stdout)")

            let results = try await FanoutBinary.run(["results", runID, "--reduce", "count"], environment: environment)
            #expect(results.status == 0, "\(results.stderr)")
            #expect(results.stdout == "4\n")

            let logs = try await FanoutBinary.run(["logs", runID], environment: environment)
            #expect(logs.status == 0, "\(logs.stderr)")

            let attach = try await FanoutBinary.run(
                ["attach", runID, "--reduce", "count", "-q", "--", "cat", "{}"], environment: environment)
            #expect(attach.status == 0, "\(attach.stderr)")
            #expect(attach.stdout == "4\n")

            let cancel = try await FanoutBinary.run(["cancel", runID], environment: environment)
            #expect(
                cancel.status == 0 && cancel.stdout.contains("nothing to cancel"), "\(cancel.stdout)\(cancel.stderr)")

            // gc deletes the run and forgets it.
            let gc = try await FanoutBinary.run(["gc", "--older-than", "0s"], environment: environment)
            #expect(gc.stdout.contains("1 run deleted"), "\(gc.stdout)\(gc.stderr)")
            let after = try await FanoutBinary.run(["status", runID], environment: environment)
            #expect(after.status != 0 && after.stderr.contains("no run \(runID)"), "\(after.stderr)")
            let index = folder.appendingPathComponent("xdg-state/fanout/runs/\(runID).json").path
            #expect(!FileManager.default.fileExists(atPath: index))
        }
    }

    @Test func aRunWithStateElsewhereIsFoundThroughTheIndex() async throws {
        try await withTemporaryDirectory { folder in
            let input = folder.appendingPathComponent("input")
            try corpus(input, count: 2)
            let elsewhere = folder.appendingPathComponent("shared-state").path + "/"
            let environment = try environment(folder)
            let run = try await FanoutBinary.run(
                ["run", input.path, "--state", elsewhere, "--json", "--", "cat", "{}"], environment: environment)
            #expect(run.status == 0, "\(run.stderr)")
            let runID = try #require(lastJSON(run)?["run"] as? String, "\(run.stdout)")

            let runs = try await FanoutBinary.run(["runs", "--json"], environment: environment)
            let listed = runs.lines.compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            #expect(
                listed.contains { $0["runID"] as? String == runID && $0["state"] as? String == elsewhere },
                "\(runs.stdout)")
            let results = try await FanoutBinary.run(["results", runID, "--reduce", "count"], environment: environment)
            #expect(results.stdout == "2\n", "\(results.stderr)")
        }
    }
}
