import Foundation
import Testing
import FanoutTestSteps
@testable import FanoutCore

/// The cache follows the code: results are reused only by the same build of the program.
struct ProgramBuildTests {
    @Test func theBuildIDIsTheOneReadelfReads() async throws {
        let executable = try TestWorker.path
        let readelf = try await ChildProcess.run("readelf", arguments: ["-n", executable])
        let printed = String(decoding: readelf.standardOutput, as: UTF8.self)
        let expected = try #require(
            printed.split(separator: "\n").first { $0.contains("Build ID:") }?
                .split(separator: " ").last.map(String.init),
            "readelf shows a build ID: \(printed)")
        #expect(ProgramBuild.buildID(ofExecutableAt: executable) == expected)
        #expect(ProgramBuild.id?.count == expected.count, "this test process has a build ID too")
        #expect(ProgramBuild.buildID(ofExecutableAt: "/etc/hostname") == nil)
    }

    @Test func anotherBuildRecomputesALibraryStepButNotACommand() async throws {
        let corpus = try Corpus.make(count: 4)
        defer { corpus.remove() }
        let fanout = Fanout(options: RunOptions(state: corpus.state))
        func run<Output>(_ step: MapStep<Output>, build: String) async throws -> Int {
            var preparation = RunPreparation(fanout: fanout, step: AnyMapStep(step))
            preparation.build = build
            let run = MapRun<Output>(prepared: try await preparation.prepare(Input(corpus.path)), options: fanout.options)
            _ = try await collect(run)
            return run.summary?.cached ?? -1
        }
        #expect(try await run(TestSteps.byteCount, build: "aaaa") == 0)
        #expect(try await run(TestSteps.byteCount, build: "aaaa") == 4, "the same build reuses every result")
        #expect(try await run(TestSteps.byteCount, build: "bbbb") == 0, "another build recomputes")

        let command = CommandStep(command: ["wc", "-c", "{}"]).step
        #expect(try await run(command, build: "aaaa") == 0)
        #expect(try await run(command, build: "bbbb") == 4, "a command's output does not depend on fanout's build")
    }
}
