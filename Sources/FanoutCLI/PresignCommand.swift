import ArgumentParser
import Fanout
import Foundation

struct PresignCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "presign",
        abstract: "Print a URL that grants GET (or PUT) on one object without credentials.",
        discussion: """
            Anyone holding the URL can use it until it expires, so keep expiries short. Local paths print their \
            file:// URL. gs:// URLs are V4 signed URLs, signed with the service-account key that \
            GOOGLE_APPLICATION_CREDENTIALS names.

            Examples:
              fanout presign s3://my-bucket/report.csv --expires 1h
              curl -T data.bin "$(fanout presign s3://my-bucket/upload.bin --method put --expires 10m)"
              fanout presign gs://my-bucket/report.csv --expires 1h
            """
    )

    @Argument(help: ArgumentHelp("s3://BUCKET/KEY, gs://BUCKET/KEY or a local path.", valueName: "url"))
    var location: String

    @Option(help: "How long the URL works: 90s, 15m, 1h, 7d (at most 7d).")
    var expires: DurationText = DurationText(seconds: 3600)

    @Option(help: "The operation the URL allows: get or put.")
    var method: PresignMethodArgument = .get

    @Flag(help: "Print {\"url\": ..., \"expiresAt\": ...} as JSON.")
    var json = false

    @OptionGroup var storage: StorageOptions

    func validate() throws {
        guard expires.seconds >= 1, expires.seconds <= 7 * 86400 else {
            throw ValidationError("--expires must be between 1s and 7d (got \(expires.text))")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let location = try StorageLocation.parse(self.location)
            guard !location.prefix.isEmpty else {
                throw ObjectStoreError(
                    code: .invalidArgument, message: "'\(self.location)' names no object",
                    hint: "Give the full key, e.g. s3://bucket/path/file.csv.")
            }
            let store = try location.store(in: try storage.stores())
            let url = try await store.presignedURL(
                key: location.prefix, method: method.method, expires: .seconds(expires.seconds))
            if json {
                let expiresAt = Date().addingTimeInterval(TimeInterval(expires.seconds))
                print(JSONLine.encode(["url": url.absoluteString, "expiresAt": DateText.iso8601(expiresAt)]))
            } else {
                print(url.absoluteString)
            }
        }
    }
}

/// `--method`'s values.
enum PresignMethodArgument: String, ExpressibleByArgument, CaseIterable {
    case get, put

    var method: PresignMethod { self == .get ? .get : .put }
}
