import FanoutTestSupport
import Foundation
import Testing

/// Defaults from the configuration file and the environment: flags > environment > file > built-in.
@Suite(.serialized) struct ConfigurationFileTests {
    func startEvent(_ result: FanoutBinary.Result) -> [String: Any]? {
        result.lines.first.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    @Test func theFileGivesDefaultsTheEnvironmentAndFlagsOverride() async throws {
        try await withTemporaryDirectory { folder in
            let input = folder.appendingPathComponent("in")
            try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
            try Data("x\n".utf8).write(to: input.appendingPathComponent("a.txt"))
            let fileState = folder.appendingPathComponent("file-state").path + "/"
            let config = folder.appendingPathComponent("config")
            try Data("""
                # defaults for tests
                backend = processes
                state = "\(fileState)"

                """.utf8).write(to: config)
            var environment = try FanoutBinary.environment()
            environment["FANOUT_CONFIG"] = config.path
            environment["FANOUT_BACKEND"] = nil
            environment["FANOUT_STATE"] = nil
            environment["XDG_STATE_HOME"] = folder.appendingPathComponent("user-state").path
            let command = ["run", input.path, "--json", "--no-cache", "--", "cat", "{}"]

            let fromFile = try await FanoutBinary.run(command, environment: environment)
            #expect(fromFile.status == 0, "\(fromFile.stderr)")
            #expect(startEvent(fromFile)?["backend"] as? String == "processes")
            #expect(FileManager.default.fileExists(atPath: fileState + "v1/runs"), "the run state is where the file says")
            let runs = try await FanoutBinary.run(["runs", "--json"], environment: environment)
            #expect(runs.lines.count == 1, "`fanout runs` looks in the file's state prefix: \(runs.stdout)")

            environment["FANOUT_BACKEND"] = "local"
            let fromEnvironment = try await FanoutBinary.run(command, environment: environment)
            #expect(startEvent(fromEnvironment)?["backend"] as? String == "in-process")

            let flagged = try await FanoutBinary.run(
                ["run", input.path, "--json", "--no-cache", "--backend", "processes", "--", "cat", "{}"],
                environment: environment)
            #expect(startEvent(flagged)?["backend"] as? String == "processes")
        }
    }

    @Test func theFileIsFoundUnderXDGConfigHome() async throws {
        try await withTemporaryDirectory { folder in
            let state = folder.appendingPathComponent("xdg-state").path + "/"
            try FileManager.default.createDirectory(
                at: folder.appendingPathComponent("fanout"), withIntermediateDirectories: true)
            try Data("state = \(state)\n".utf8).write(to: folder.appendingPathComponent("fanout/config"))
            var environment = try FanoutBinary.environment()
            environment["FANOUT_CONFIG"] = nil
            environment["FANOUT_STATE"] = nil
            environment["XDG_CONFIG_HOME"] = folder.path
            environment["XDG_STATE_HOME"] = folder.appendingPathComponent("user-state").path
            let runs = try await FanoutBinary.run(["runs"], environment: environment)
            #expect(runs.status == 0, "\(runs.stderr)")
            #expect(runs.stdout == "no runs under \(state)\n")
        }
    }

    @Test func everyRunFlagCanBeSetInTheFileAndTheCommandLineWins() async throws {
        try await withTemporaryDirectory { folder in
            let input = folder.appendingPathComponent("in")
            try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
            try Data("a\nb\n".utf8).write(to: input.appendingPathComponent("a.txt"))
            try Data("c\n".utf8).write(to: input.appendingPathComponent("b.txt"))
            let config = folder.appendingPathComponent("config")
            var environment = try FanoutBinary.environment()
            environment["FANOUT_CONFIG"] = config.path
            try Data("""
                # every fanout run flag, without its dashes
                reduce = sum
                no-cache = true
                tolerate-failures = 1
                state = \(folder.path)/state/

                """.utf8).write(to: config)
            let summed = try await FanoutBinary.run(["run", input.path, "-q", "--", "wc", "-l", "{}"], environment: environment)
            #expect(summed.status == 0, "\(summed.stderr)")
            #expect(summed.stdout == "3\n", "reduce = sum applies")
            let counted = try await FanoutBinary.run(
                ["run", input.path, "-q", "--reduce", "count", "--", "wc", "-l", "{}"], environment: environment)
            #expect(counted.stdout == "2\n", "the command line wins: \(counted.stderr)")
            // A run records the file's flags too, so attaching later resumes it as it was.
            let runs = try await FanoutBinary.run(["runs", "--state", folder.path + "/state/", "--json"], environment: environment)
            #expect(runs.stdout.contains("--tolerate-failures"), "\(runs.stdout)")

            try Data("reduce = summ\n".utf8).write(to: config)
            let bad = try await FanoutBinary.run(["run", input.path, "--", "true"], environment: environment)
            #expect(bad.status == 64)
            #expect(bad.stderr.contains("line 1: 'reduce = summ' is not a setting of fanout"), "\(bad.stderr)")
        }
    }

    @Test func aBrokenFileNamesTheFileTheLineAndTheFix() async throws {
        try await withTemporaryDirectory { folder in
            let config = folder.appendingPathComponent("config")
            var environment = try FanoutBinary.environment()
            environment["FANOUT_CONFIG"] = config.path

            try Data("backend = local\n\nnamespace batch\n".utf8).write(to: config)
            let malformed = try await FanoutBinary.run(["runs"], environment: environment)
            #expect(malformed.status == 64)
            #expect(malformed.stderr.contains("\(config.path), line 3: expected 'key = value'"), "\(malformed.stderr)")

            try Data("colour = blue\n".utf8).write(to: config)
            let unknown = try await FanoutBinary.run(["run", folder.path, "--", "true"], environment: environment)
            #expect(unknown.status == 64)
            #expect(unknown.stderr.contains("line 1: 'colour = blue' is not a setting of fanout"), "\(unknown.stderr)")
            #expect(unknown.stderr.contains("state, backend, context, namespace, image"))

            try Data("# defaults\nbackend = kubernets\n".utf8).write(to: config)
            let typo = try await FanoutBinary.run(["run", folder.path, "--", "true"], environment: environment)
            #expect(typo.status == 64)
            #expect(typo.stderr.contains("line 2: unknown backend 'kubernets'"), "\(typo.stderr)")

            environment["FANOUT_CONFIG"] = folder.appendingPathComponent("missing").path
            let missing = try await FanoutBinary.run(["runs"], environment: environment)
            #expect(missing.status == 64)
            #expect(missing.stderr.contains("cannot read the configuration file"))
            #expect(missing.stderr.contains("FANOUT_CONFIG"))
        }
    }
}
