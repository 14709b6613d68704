import FanoutTestSupport
import Foundation
import Testing

/// A command's output is bytes: the reducers that keep output keep it exactly, and those that read text say when a
/// file's output is not UTF-8.
@Suite(.serialized) struct RunCommandOutputTests {
    /// Every byte value, in order.
    private static let everyByte = Data((0...255).map { UInt8($0) })

    @Test(arguments: [[], ["--backend", "processes", "--workers", "2"]])
    func concatAndOutputKeepEveryByte(backend: [String]) async throws {
        try await withTemporaryDirectory { folder in
            let input = folder.appendingPathComponent("in")
            try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
            try Self.everyByte.write(to: input.appendingPathComponent("a.bin"))
            try Data("text\n".utf8).write(to: input.appendingPathComponent("b.txt"))
            let output = folder.appendingPathComponent("out.bin")
            let concat = try await FanoutBinary.run(
                ["run", input.path, "-q", "--reduce", "concat", "-o", output.path] + backend + ["--", "cat"])
            #expect(concat.status == 0, "\(concat.stderr)")
            #expect(try Data(contentsOf: output) == Self.everyByte + Data("text\n".utf8), "concat is in key order")

            let lines = try await FanoutBinary.run(
                ["run", input.path, "-q", "--no-cache", "--include", "*.bin", "--reduce", "lines", "-o", output.path]
                    + backend + ["--", "cat"])
            #expect(lines.status == 0, "\(lines.stderr)")
            #expect(try Data(contentsOf: output) == Self.everyByte + Data("\n".utf8), "a last line gets its newline")
        }
    }

    @Test func sumFailsAFileWhoseOutputIsNotText() async throws {
        try await withTemporaryDirectory { folder in
            try Data("5\n".utf8).write(to: folder.appendingPathComponent("good.txt"))
            try Self.everyByte.write(to: folder.appendingPathComponent("bad.bin"))
            let strict = try await FanoutBinary.run(["run", folder.path, "-q", "--reduce", "sum", "--", "cat"])
            #expect(strict.status == 1)
            #expect(strict.stderr.contains("bad.bin printed 256 bytes that are not UTF-8 text"), "\(strict.stderr)")
            #expect(strict.stderr.contains("--reduce concat"), "the message names a reducer that keeps bytes")
            #expect(strict.stdout.isEmpty)

            let tolerant = try await FanoutBinary.run(
                ["run", folder.path, "-q", "--reduce", "sum", "--tolerate-failures", "1", "--", "cat"])
            #expect(tolerant.status == 3, "\(tolerant.stderr)")
            #expect(tolerant.stdout == "5\n")
        }
    }
}
