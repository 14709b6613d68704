import FanoutStorage
import FanoutTestSupport
import Foundation
import Testing
@testable import FanoutCore

/// Reading input files through ``InputFile``.
@Suite struct InputFileTests {
    /// The lines of each file, read by the step.
    private static let lines = MapStep("read-lines", version: "1") { file -> [String] in
        var lines: [String] = []
        for try await line in try await file.lines() { lines.append(line) }
        let bytes = try await file.bytes()
        let copied = try await file.withLocalPath { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        guard bytes == copied, Int64(bytes.count) == file.size else {
            throw FileFailure(message: "bytes(), withLocalPath and size disagree")
        }
        return lines
    }

    @Test func symbolicLinksAreReadAsTheFilesTheyName() async throws {
        try await withTemporaryDirectory { folder in
            let input = folder.appendingPathComponent("doc")
            let other = folder.appendingPathComponent("other")
            try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
            try Data("read me\nplease\n".utf8).write(to: input.appendingPathComponent("README"))
            try Data("elsewhere\n".utf8).write(to: other.appendingPathComponent("NOTES"))
            let links = FileManager.default
            try links.createSymbolicLink(
                atPath: input.appendingPathComponent("FAQ").path, withDestinationPath: "README")
            try links.createSymbolicLink(
                atPath: input.appendingPathComponent("notes").path, withDestinationPath: "../other/NOTES")
            try links.createSymbolicLink(
                atPath: input.appendingPathComponent("absolute").path,
                withDestinationPath: other.appendingPathComponent("NOTES").path)
            try links.createSymbolicLink(
                atPath: input.appendingPathComponent("linked").path, withDestinationPath: "../other")

            let options = RunOptions(state: folder.appendingPathComponent("state").path + "/")
            let run = try await Fanout(options: options).map(Self.lines, over: Input(input.path))
            var outcomes: [String: Result<[String], FileFailure>] = [:]
            for try await outcome in run { outcomes[outcome.key] = outcome.result }
            try run.checkTolerance()
            #expect(outcomes.count == 5)
            #expect(try outcomes["FAQ"]?.get() == ["read me", "please"])
            #expect(try outcomes["README"]?.get() == ["read me", "please"])
            #expect(try outcomes["notes"]?.get() == ["elsewhere"])
            #expect(try outcomes["absolute"]?.get() == ["elsewhere"])
            #expect(try outcomes["linked/NOTES"]?.get() == ["elsewhere"])
        }
    }
}
