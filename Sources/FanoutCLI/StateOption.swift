import ArgumentParser
import Fanout
import Foundation

/// `--state`, shared by the commands that manage runs.
struct StateOption: ParsableArguments {
    @Option(help: ArgumentHelp("The state prefix to look in (default: a run started on this machine is found "
        + "where it was started with; else FANOUT_STATE, else `state` in the configuration file, else "
        + "~/.local/state/fanout/state/).", valueName: "prefix"))
    var state: String?

    /// The flag, else the setting in `environment` (see ``ConfigurationFile``), else the user's state folder.
    func resolved(in environment: [String: String]) -> String {
        Self.prefix(flag: state, environment: environment)
    }

    /// Where `runID` is: the flag, else where this machine's ``RunIndex`` says, else as ``resolved(in:)``.
    func resolved(for runID: String, in environment: [String: String]) -> String {
        Self.prefix(flag: state, runID: runID, environment: environment)
    }

    /// A run-managing command's state prefix: `flag`, else the indexed state of `runID` (when given), else
    /// `FANOUT_STATE` in `environment`, else ``Fanout/defaultStateLocation(environment:)``.
    static func prefix(flag: String?, runID: String? = nil, environment: [String: String]) -> String {
        if let flag { return flag }
        if let runID, let entry = RunIndex(environment: environment).entry(runID) { return entry.state }
        return environment["FANOUT_STATE"] ?? Fanout.defaultStateLocation(environment: environment)
    }

    /// The flag, else the setting in the environment or configuration file, else the user's state folder.
    /// - Throws: ``ConfigurationError`` when the configuration file cannot be used.
    func resolved() throws -> String {
        if let state { return state }
        return resolved(in: try ConfigurationFile.effectiveEnvironment())
    }

    /// Where `runID` is, as ``resolved(for:in:)`` in the environment and configuration file.
    /// - Throws: ``ConfigurationError`` when the configuration file cannot be used.
    func resolved(for runID: String) throws -> String {
        if let state { return state }
        return resolved(for: runID, in: try ConfigurationFile.effectiveEnvironment())
    }
}
