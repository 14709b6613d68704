import FanoutTestSupport
import Foundation
import Testing

/// The help a user reads first.
@Suite("fanout --help")
struct FanoutCommandTests {
    @Test("--help names the subcommands and shows examples", arguments: [
        (["--help"], ["ls", "presign", "Examples:", "fanout ls s3://", "AWS_ENDPOINT_URL_S3"]),
        (["ls", "--help"], ["Examples:", "--delimiter", "--json", "fanout ls s3://my-bucket/"]),
        (["presign", "--help"], ["Examples:", "--expires", "--method", "curl -T"]),
        (["--help"], ["FANOUT_CONFIG", "~/.config/fanout/config", "key = value", "logs"]),
        (["run", "--help"], ["--detach", "fanout cancel RUN", "FANOUT_NAMESPACE", "~/.config/fanout/config"]),
        (["logs", "--help"], ["Examples:", "--shard", "--tail", "--json", "fanout.dev/run=RUN"]),
        (["cancel", "--help"], ["--detach", "fanout attach RUN"]),
    ])
    func help(arguments: [String], expected: [String]) async throws {
        let result = try await FanoutBinary.run(arguments)
        #expect(result.status == 0)
        for text in expected {
            #expect(result.stdout.contains(text), "\(arguments) should mention \(text)")
        }
    }

    @Test("an unknown subcommand fails with usage")
    func unknown() async throws {
        let result = try await FanoutBinary.run(["frobnicate"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("Usage:"))
    }
}
