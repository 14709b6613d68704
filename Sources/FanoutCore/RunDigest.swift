import Crypto
import Foundation

/// The SHA-256 of a run's stored spec, as written: what the run executes (step, version, command), over what
/// (input, filter, and the digest of every shard's plan) and how (backend, batching, placement).
///
/// The driver keeps it in memory from the moment it writes or confirms the spec, and hands it to every worker in
/// its environment (the worker process's, or the Job's pod template): places that someone with access only to the
/// state prefix cannot change. A worker whose stored spec or shard plan hashes to anything else refuses to run
/// (``WorkerExit/misconfigured``), so tampered state never runs.
enum RunDigest {
    /// The hex SHA-256 of `bytes`.
    static func of(_ bytes: some DataProtocol) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// Throws unless `bytes`, read from `key`, hash to `expected`.
    static func check(_ bytes: Data, key: String, expected: String, what: String) throws {
        let actual = of(bytes)
        guard actual == expected else {
            throw RunError(
                code: .tamperedState,
                message: "the stored \(what) at \(key) is not the one this run was started with (SHA-256 \(actual), "
                    + "expected \(expected)): someone changed the run's state after it began, so it will not run. "
                    + "Check who can write to the state prefix, then start the run again")
        }
    }
}
