import ArgumentParser
import Fanout
import Foundation

/// A list of the files to run on, as `xargs` and GNU parallel read their input, instead of a listing.
struct FilesFromOption: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Run on the files named in FILE (- for standard input), one a line, relative to the prefix, instead of "
            + "every file under it. Blank lines are skipped; --include and the other filters do not apply.",
        valueName: "file"))
    var filesFrom: String?

    func validate() throws {
        if let filesFrom, filesFrom != "-", !FileManager.default.isReadableFile(atPath: filesFrom) {
            throw ValidationError(
                "--files-from \(filesFrom): no such readable file; give a file of keys, or - for standard input")
        }
    }

    /// What the run maps over: the listed keys of `location` when the flag is given, else its listing.
    ///
    /// A worker (which re-parses the driver's arguments, possibly on another machine) never reads the list: it runs
    /// the stored plan.
    func input(location: String, filter: FileFilter) throws -> Input {
        guard let filesFrom, try WorkerAssignment.current() == nil else { return Input(location, filter: filter) }
        let data: Data
        if filesFrom == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            data = try Data(contentsOf: URL(fileURLWithPath: filesFrom))
        }
        let prefix = try StorageLocation.parse(location).prefix
        var seen: Set<String> = []
        var keys: [String] = []
        for line in String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline) {
            var name = String(line)
            if name.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            while name.hasPrefix("./") { name.removeFirst(2) }
            let key = prefix + name
            if seen.insert(key).inserted { keys.append(key) }
        }
        guard !keys.isEmpty else {
            throw ValidationError("--files-from \(filesFrom == "-" ? "standard input" : filesFrom) names no file")
        }
        return Input.files(keys, in: location)
    }
}
