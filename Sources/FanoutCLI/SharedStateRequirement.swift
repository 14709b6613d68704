import Fanout
import Foundation

/// A run whose workers run on other machines (Kubernetes) needs a state prefix they can reach: without `--state`,
/// `FANOUT_STATE` or the configuration file's `state`, it is refused before anything is created, with the line to
/// add to the configuration file.
enum SharedStateRequirement {
    /// - Parameters:
    ///   - options: the run's options, with `state` as the flag, environment and configuration file set it.
    ///   - input: the input location as typed; a bucket input's bucket (`s3://`, `gs://`) is suggested for the state.
    /// - Throws: ``RunError`` with code ``RunError/Code/invalidInput`` naming the configuration file and its line.
    static func check(_ options: RunOptions, input: String, environment: [String: String]) throws {
        // A worker (the same command line, in a pod) is handed its run's state prefix: nothing to check.
        guard options.backend.needsSharedState, options.state == nil, environment["FANOUT_WORKER_RUN"] == nil
        else { return }
        let file = ConfigurationFile.location(in: environment)?.path ?? "~/.config/fanout/config"
        throw RunError(
            code: .invalidInput,
            message: """
                --backend \(options.backend.name) needs a state prefix its pods can reach, and none is set (runs \
                on this machine keep their state in \(Fanout.defaultStateLocation(environment: environment)), \
                which pods cannot read). Add this line to \(file):
                    \(line(for: input))
                or give --state s3://BUCKET/PREFIX/, or set FANOUT_STATE
                """)
    }

    /// The configuration file's line for a state prefix in the input's bucket, or in a bucket to choose.
    static func line(for input: String) -> String {
        if let location = try? StorageLocation.parse(input), case .bucket(let scheme, let name) = location.kind {
            return "state = \(scheme)://\(name)/fanout-state/"
        }
        return "state = s3://BUCKET/fanout-state/"
    }
}
