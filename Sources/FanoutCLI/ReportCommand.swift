import ArgumentParser
import Fanout
import Foundation

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a run's report: a page with its timeline of shards and attempts, throughput, and slow and failed files.",
        discussion: """
            The page is one HTML file with nothing from elsewhere (no script, no fonts, inline SVG), so it can be \
            mailed or attached to a ticket. It shows each shard's attempts on a time axis, coloured by how they \
            ended (committed, failed, disrupted, OOM-killed, a backup that won or lost, cancelled), with the time \
            each waited to start in grey; files done per second with the workers running and pending; a \
            histogram of how long files took; the slowest files; every failed file with its reason and the end of \
            its standard error; and the run's figures. It reads the run's stored results once, so it works on a \
            running run too, and on a run of any size.

            Examples:
              fanout report 20261124-203512-9f3c01ab                    # writes fanout-report-RUN.html
              fanout report 20261124-203512-9f3c01ab --open
              fanout report 20261124-203512-9f3c01ab --svg -o timeline.svg
              fanout report 20261124-203512-9f3c01ab -o - > report.html
            """
    )

    @Argument(help: "The run id.") var runID: String
    @OptionGroup var state: StateOption
    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write it; - for standard output (default fanout-report-RUN.html, or .svg with --svg).", valueName: "file"))
    var output: String?
    @Flag(help: "Write the timeline alone, as an SVG image.") var svg = false
    @Flag(help: "Open the report in the desktop's browser (xdg-open, or open on macOS) once written.") var open = false
    @OptionGroup(title: "S3") var storage: StorageOptions

    func validate() throws {
        if open && output == "-" { throw ValidationError("--open needs a file: leave out -o -") }
    }

    func run() async throws {
        try await reportingErrors {
            let catalog = try RunCatalog(state: try state.resolved(for: runID), stores: try storage.stores())
            let report = try await catalog.report(runID)
            let text = svg ? report.timelineSVG() : report.html()
            let path = output ?? "fanout-report-\(runID).\(svg ? "svg" : "html")"
            if path == "-" {
                FileHandle.standardOutput.write(Data(text.utf8))
                return
            }
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            print(path)
            if open { try await openInBrowser(path) }
        }
    }

    /// Opens the page where a desktop can: `xdg-open` on Linux, `open` on macOS.
    private func openInBrowser(_ path: String) async throws {
        #if os(macOS)
        let opener = "open"
        #else
        let opener = "xdg-open"
        #endif
        let result = try await ChildProcess.run(opener, arguments: [path])
        guard result.succeeded else {
            throw ValidationError("cannot open \(path) with \(opener) (no desktop here?): open the file in a browser")
        }
    }
}
