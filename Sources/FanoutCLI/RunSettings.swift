import ArgumentParser
import Fanout

/// The flags a `fanout run` was started with, as recorded in its spec (and so pinned by its digest), so that
/// `fanout attach` resumes the same run: the same backend, environment, Secret references, resources, image,
/// reducer and output.
///
/// Only flags are kept: the location and the command are stored apart, and flags that concern one invocation
/// (`--detach`, `--dry-run`, `--json`, `--quiet`) are left out. Credentials never appear: the CLI passes Secrets by
/// name only, and `--env` refuses variables that look like credentials.
enum RunSettings {
    /// Flags that concern one invocation only, with whether each takes a value.
    static let perInvocation: [String: Bool] = [
        "--detach": false, "--dry-run": false, "--json": false, "--quiet": false, "-q": false,
        "--detached-run": true, "--detached-state": true, "--detached-digest": true,
    ]

    /// The flags of `arguments` (what follows `fanout run`), without the location, the command after `--`, and the
    /// flags of this invocation only.
    static func recordable(_ arguments: [String], location: String) -> [String] {
        var flags: [String] = []
        var index = 0
        var skippedLocation = false
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" { break }
            let name = String(argument.prefix { $0 != "=" })
            if let takesValue = perInvocation[name] {
                index += takesValue && !argument.contains("=") ? 2 : 1
                continue
            }
            if argument == location && !skippedLocation {
                skippedLocation = true
            } else {
                flags.append(argument)
            }
            index += 1
        }
        return flags
    }

    /// The flags given to `fanout attach RUN`, without the run id, attach's own flags and the command.
    static func attachFlags(_ arguments: [String], runID: String, own: Set<String>) -> [String] {
        var flags: [String] = []
        var removedID = false
        for argument in arguments {
            if argument == "--" { break }
            if argument == runID && !removedID {
                removedID = true
                continue
            }
            if own.contains(argument) { continue }
            flags.append(argument)
        }
        return flags
    }

    /// The `fanout run` a resumed run is: the recorded flags, then the ones given now (a single-value flag given
    /// again wins), over the stored location and command.
    static func resumed(
        location: String, recorded: [String], given: [String], command: [String]
    ) throws -> RunCommand {
        try RunCommand.parse(Array(arguments(location: location, recorded: recorded, given: given, command: command)
            .dropFirst()))
    }

    /// The arguments of that `fanout run`, `run` first.
    static func arguments(location: String, recorded: [String], given: [String], command: [String]) -> [String] {
        ["run", location] + recorded + given + ["--"] + command
    }
}
