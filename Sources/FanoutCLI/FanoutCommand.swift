import ArgumentParser
import Fanout
import Foundation
import Logging
import Synchronization

@main
struct FanoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fanout",
        abstract: "Run work over every file under an object-storage prefix, and fold the results locally.",
        discussion: """
            Locations are s3://BUCKET/PREFIX, gs://BUCKET/PREFIX, file:///PATH, or a local path. S3 credentials and \
            region come from the usual AWS variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, \
            AWS_PROFILE, AWS_REGION) and files (~/.aws/credentials, ~/.aws/config); AWS_ENDPOINT_URL_S3 or \
            --endpoint points at an S3-compatible server. Cloud Storage uses Application Default Credentials \
            (GOOGLE_APPLICATION_CREDENTIALS, gcloud auth application-default login, or the metadata server); \
            STORAGE_EMULATOR_HOST points at an emulator.

            Defaults for flags come from the environment (FANOUT_BACKEND, FANOUT_STATE, FANOUT_CONTEXT, \
            FANOUT_NAMESPACE, FANOUT_IMAGE) and, below it, from an optional configuration file: $FANOUT_CONFIG, \
            else $XDG_CONFIG_HOME/fanout/config, else ~/.config/fanout/config. It holds `key = value` lines (# \
            starts a comment) with the keys backend, state, context, namespace and image, and any flag of `fanout \
            run` without its dashes (`reduce = sum`, `secret-env = s3-credentials`, `no-cache = true`). A flag \
            wins over the environment, which wins over the file.

            Examples:
              fanout run ./logs --reduce sum -- wc -l {}
              fanout run s3://my-bucket/json/ --backend processes --reduce merge-json -- jq -c .counts {}
              fanout ls s3://my-bucket/logs/2024/
              fanout ls ./corpus --json
              fanout presign s3://my-bucket/report.csv --expires 1h
              fanout run s3://my-bucket/logs/ --detach --reduce sum -- wc -l {}
              fanout logs 20261124-203512-9f3c01ab --shard 3
            """,
        version: "fanout \(Fanout.version) (Swift \(WorkerImage.swiftRelease))",
        subcommands: [
            RunCommand.self, ListCommand.self, PresignCommand.self, RunsCommand.self, StatusCommand.self,
            AttachCommand.self, ResultsCommand.self, LogsCommand.self, ReportCommand.self, FleetCommand.self,
            CancelCommand.self,
            GCCommand.self,
        ]
    )

    static func main() async {
        let level = TerminalLogHandler.level(environment: ProcessInfo.processInfo.environment)
        LoggingSystem.bootstrap { _ in TerminalLogHandler(level: level) }
        let arguments: [String]
        do {
            arguments = try ConfigurationFile.applyingRunFlags(to: CommandLine.arguments)
        } catch let error as ConfigurationError {
            Terminal.shared.note("error: \(error.message)")
            Foundation.exit(ExitCode.validationFailure.rawValue)
        } catch {
            Terminal.shared.note("error: \(error)")
            Foundation.exit(ExitCode.validationFailure.rawValue)
        }
        EffectiveArguments.value.withLock { $0 = arguments }
        await main(Array(arguments.dropFirst()))
    }
}

/// The arguments as parsed: this process's, with the configuration file's `fanout run` flags applied.
enum EffectiveArguments {
    static let value = Mutex<[String]>(CommandLine.arguments)

    static var current: [String] { value.withLock { $0 } }
}
