import ArgumentParser
import Fanout
import Foundation

@main
struct FanoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fanout",
        abstract: "Run work over every file under an object-storage prefix, and fold the results locally.",
        discussion: """
            Locations are s3://BUCKET/PREFIX, file:///PATH, or a local path. S3 credentials and region come from \
            the usual AWS variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE, \
            AWS_REGION) and files (~/.aws/credentials, ~/.aws/config); AWS_ENDPOINT_URL_S3 or --endpoint points at \
            an S3-compatible server.

            Examples:
              fanout run ./logs --reduce sum -- wc -l {}
              fanout run s3://my-bucket/json/ --backend processes --reduce merge-json -- jq -c .counts {}
              fanout ls s3://my-bucket/logs/2024/
              fanout ls ./corpus --json
              fanout presign s3://my-bucket/report.csv --expires 1h
            """,
        subcommands: [
            RunCommand.self, ListCommand.self, PresignCommand.self, RunsCommand.self, StatusCommand.self,
            AttachCommand.self, ResultsCommand.self, CancelCommand.self, GCCommand.self,
        ]
    )
}
