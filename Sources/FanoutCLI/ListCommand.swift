import ArgumentParser
import Fanout
import Foundation

struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List the files under a prefix, with sizes and a total.",
        discussion: """
            Lists recursively, in key order, streaming page by page: a million keys never sit in memory.

            Examples:
              fanout ls s3://my-bucket/logs/2024/
              fanout ls ./corpus/
              fanout ls s3://my-bucket/ --delimiter /          (top-level "folders" only)
              fanout ls s3://my-bucket/data/ --json | jq -r .key
            """
    )

    @Argument(help: ArgumentHelp("s3://BUCKET/PREFIX, gs://BUCKET/PREFIX, file:///PATH, or a local path.",
        valueName: "prefix"))
    var location: String

    @Option(help: "Group keys at this delimiter instead of listing recursively.")
    var delimiter: String?

    @Flag(help: "One JSON object per line (key, size, etag, lastModified), then a summary line.")
    var json = false

    @Flag(name: [.customShort("H"), .long], help: "Sizes in KiB, MiB, GiB.")
    var humanReadable = false

    @OptionGroup var storage: StorageOptions

    func run() async throws {
        try await reportingErrors {
            let location = try StorageLocation.parse(self.location)
            let store = try location.store(in: try storage.stores())
            let output = LineWriter()
            var count = 0
            var bytes: Int64 = 0
            let pages = store.list(prefix: location.prefix, options: ListOptions(delimiter: delimiter)).pages
            for try await page in pages {
                for prefix in page.commonPrefixes {
                    output.write(json ? JSONLine.encode(["prefix": prefix]) : "\(String(repeating: " ", count: 31))PRE \(prefix)")
                }
                for object in page.objects {
                    count += 1
                    bytes += object.size
                    if json {
                        output.write(JSONLine.encode(object))
                    } else {
                        let size = humanReadable ? ByteCountText.human(object.size) : String(object.size)
                        output.write(
                            "\(DateText.short(object.lastModified))  \(size.leftPadded(to: 12))  \(object.key)")
                    }
                }
            }
            if json {
                output.write(JSONLine.encode(["summary": ["objects": count, "bytes": Int(bytes)]]))
            } else {
                output.write("\(count) object\(count == 1 ? "" : "s"), \(bytes) bytes (\(ByteCountText.human(bytes)))")
            }
            output.flush()
        }
    }
}
