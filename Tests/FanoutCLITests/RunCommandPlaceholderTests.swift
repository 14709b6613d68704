import FanoutStorage
import FanoutTestSupport
import Foundation
import Testing

/// File names that would run code, or become options, if a shell or a program read them unquoted; each file holds
/// as many lines as its position in the list plus one.
let hostileFiles: [(name: String, lines: Int)] = [
    "$(touch X).txt", "`touch X`.txt", "a;b", "'q'", "\"dq\"", "x{size}.txt", "-rf", "$(touch $PWNED).txt",
    "it's here", "plain.txt",
].enumerated().map { ($0.element, $0.offset + 1) }

/// The sum of the line counts of ``hostileFiles``.
let hostileLineTotal = hostileFiles.reduce(0) { $0 + $1.lines }

func hostileContent(lines: Int) -> Data { Data(String(repeating: "l\n", count: lines).utf8) }

/// `fanout run` over files whose names are shell code: no name runs, every count is right.
@Suite(.serialized) struct RunCommandPlaceholderTests {
    /// The environment with `PWNED` naming a file that exists only if a name ran as code.
    func environment(marker: URL) throws -> [String: String] {
        var environment = try FanoutBinary.environment()
        environment["PWNED"] = marker.path
        return environment
    }

    func writeHostileFiles(to folder: URL) throws {
        for file in hostileFiles {
            try hostileContent(lines: file.lines).write(to: folder.appendingPathComponent(file.name))
        }
    }

    @Test func hostileNamesInALocalFolderRunNothing() async throws {
        try await withTemporaryDirectory { root in
            let input = root.appendingPathComponent("in")
            let copies = root.appendingPathComponent("out")
            try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: copies, withIntermediateDirectories: true)
            try writeHostileFiles(to: input)
            let marker = root.appendingPathComponent("pwned")
            let environment = try environment(marker: marker)

            let sum = try await FanoutBinary.run(
                ["run", input.path, "--reduce", "sum", "-q", "--", "sh", "-c", "wc -l < {}"], environment: environment)
            #expect(sum.status == 0, "\(sum.stderr)")
            #expect(sum.stdout == "\(hostileLineTotal)\n")

            // The same value from the environment.
            let fromEnvironment = try await FanoutBinary.run(
                ["run", input.path, "--reduce", "sum", "-q", "--", "sh", "-c", #"wc -l < "$FANOUT_FILE""#],
                environment: environment)
            #expect(fromEnvironment.stdout == "\(hostileLineTotal)\n", "\(fromEnvironment.stderr)")

            // Names come back exactly, and a name holding a placeholder is not substituted again.
            let names = try await FanoutBinary.run(
                ["run", input.path, "-q", "--", "printf", "%s|%s\\n", "{name}", "{key}"], environment: environment)
            #expect(Set(names.lines) == Set(hostileFiles.map { "\($0.name)|\($0.name)" }), "\(names.stdout)")

            // Embedded outside a shell: substituted as it is, no quotes added.
            let copy = try await FanoutBinary.run(
                ["run", input.path, "-q", "--", "cp", "{}", "\(copies.path)/{name}.bak"], environment: environment)
            #expect(copy.status == 0, "\(copy.stderr)")
            let copied = try FileManager.default.contentsOfDirectory(atPath: copies.path)
            #expect(Set(copied) == Set(hostileFiles.map { $0.name + ".bak" }))

            #expect(!FileManager.default.fileExists(atPath: marker.path), "a file name ran as code")
        }
    }

    @Test func aPlaceholderInsideDoubleQuotesOfAShellScriptIsAUsageErrorShowingTheSafeForm() async throws {
        try await withTemporaryDirectory { folder in
            try writeHostileFiles(to: folder)
            let refused = try await FanoutBinary.run(["run", folder.path, "--", "sh", "-c", #"wc -l < "{}""#])
            #expect(refused.status == 64)
            #expect(refused.stderr.contains("inside double quotes"), "\(refused.stderr)")
            #expect(refused.stderr.contains("wc -l < {}"), "the safe form: \(refused.stderr)")
            #expect(refused.stdout.isEmpty)
        }
    }

    @Test func aCommandWithoutPlaceholdersGetsTheFileAppendedAsXargsWould() async throws {
        try await withTemporaryDirectory { folder in
            try writeHostileFiles(to: folder)
            let appended = try await FanoutBinary.run(["run", folder.path, "--reduce", "sum", "-q", "--", "wc", "-l"])
            #expect(appended.status == 0, "\(appended.stderr)")
            #expect(appended.stdout == "\(hostileLineTotal)\n", "not 0 from an empty standard input")
            let fromStdin = try await FanoutBinary.run(
                ["run", folder.path, "--reduce", "sum", "-q", "--no-cache", "--stdin", "--", "wc", "-l"])
            #expect(fromStdin.stdout == "\(hostileLineTotal)\n", "\(fromStdin.stderr)")
            let help = try await FanoutBinary.run(["run", "--help"])
            #expect(help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
                .contains("a command that names none gets the file's path appended"))
        }
    }

    @Test func theHelpTeachesOnlySafePatterns() async throws {
        let help = try await FanoutBinary.run(["run", "--help"])
        #expect(help.stdout.contains("FANOUT_FILE"))
        #expect(help.stdout.contains("python"))
        #expect(!help.stdout.contains(#""{}""#), "no double-quoted placeholder in an example")
    }

    @Test func hostileKeysOnS3WithWorkerProcessesRunNothing() async throws {
        let client = try makeS3Client()
        try await withTemporaryBucket(client: client) { bucket in
            for file in hostileFiles {
                try await client.putObject(bucket: bucket, key: "in/\(file.name)", data: hostileContent(lines: file.lines))
            }
            try await withTemporaryDirectory { folder in
                let marker = folder.appendingPathComponent("pwned")
                var environment = try environment(marker: marker)
                environment["XDG_STATE_HOME"] = folder.path
                let sum = try await FanoutBinary.run(
                    [
                        "run", "s3://\(bucket)/in/", "--state", "s3://\(bucket)/state/", "--backend", "processes",
                        "--workers", "2", "--shards", "3", "--reduce", "sum", "-q", "--", "sh", "-c", "wc -l < {}",
                    ], environment: environment)
                #expect(sum.status == 0, "\(sum.stderr)")
                #expect(sum.stdout == "\(hostileLineTotal)\n")

                let keys = try await FanoutBinary.run(
                    [
                        "run", "s3://\(bucket)/in/", "--state", "s3://\(bucket)/state/", "--backend", "processes",
                        "-q", "--", "sh", "-c", "printf '%s\\n' {key}",
                    ], environment: environment)
                #expect(Set(keys.lines) == Set(hostileFiles.map { "in/\($0.name)" }), "\(keys.stderr)")
                #expect(!FileManager.default.fileExists(atPath: marker.path), "a key ran as code")
            }
        }
    }

    @Test func gnuParallelPlaceholdersComeFromTheKeyNotTheDownloadedFile() async throws {
        let client = try makeS3Client()
        try await withTemporaryBucket(client: client) { bucket in
            for key in ["in/sub/app.log.gz", "in/it's $(touch X).txt", "in/.hidden"] {
                try await client.putObject(bucket: bucket, key: key, data: Data("x\n".utf8))
            }
            try await withTemporaryDirectory { folder in
                let marker = folder.appendingPathComponent("pwned")
                var environment = try environment(marker: marker)
                environment["XDG_STATE_HOME"] = folder.path
                let run = { (command: [String]) in
                    try await FanoutBinary.run(
                        ["run", "s3://\(bucket)/in/", "--state", "s3://\(bucket)/state/", "-q", "--"] + command,
                        environment: environment)
                }
                // `{}` makes the file a download; the others still describe the key.
                let whole = try await run(["printf", "%s|%s|%s|%s|%s\\n", "{.}", "{/}", "{//}", "{/.}", "{}"])
                #expect(whole.status == 0, "\(whole.stderr)")
                let fields = whole.lines.map { $0.split(separator: "|", omittingEmptySubsequences: false) }
                #expect(Set(fields.map { $0.prefix(4).joined(separator: "|") }) == [
                    "in/sub/app.log|app.log.gz|in/sub|app.log",
                    "in/it's $(touch X)|it's $(touch X).txt|in|it's $(touch X)",
                    "in/.hidden|.hidden|in|.hidden",
                ], "\(whole.stdout)")
                #expect(fields.allSatisfy { $0.count == 5 && $0[4].hasPrefix("/") && !$0[4].hasPrefix("/in") })

                // In a shell script each is one quoted word; the environment holds the same values.
                let script = try await run(["sh", "-c", #"printf '%s %s\n' {/.} "$FANOUT_DIRNAME" < {}"#])
                #expect(script.status == 0, "\(script.stderr)")
                #expect(Set(script.lines) == ["app.log in/sub", "it's $(touch X) in", ".hidden in"], "\(script.stdout)")
                let variables = try await run(
                    ["sh", "-c", #"printf '%s|%s|%s\n' "$FANOUT_KEY_NOEXT" "$FANOUT_BASENAME" "$FANOUT_STEM""#])
                #expect(Set(variables.lines).contains("in/sub/app.log|app.log.gz|app.log"), "\(variables.stdout)")
                #expect(!FileManager.default.fileExists(atPath: marker.path), "a key ran as code")
            }
            let help = try await FanoutBinary.run(["run", "--help"])
            #expect(help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ").contains("{/.} its last"))
        }
    }
}
