import Foundation
import Synchronization

/// Where ``InputFile/withLocalPath(_:)`` downloads remote files: one folder per process,
/// `$TMPDIR/fanout-downloads-PID/`, holding a folder per file being downloaded or used.
///
/// A process that ends normally leaves nothing: each file's folder is deleted after use, and the process folder
/// once it is empty. A process that is killed (a SIGKILLed worker, an out-of-memory kill) cannot clean up, so its
/// folder is named by its process id: the first download of every later process deletes the folders of processes
/// that no longer exist. (A process id reused by a live process keeps its folder until that process ends too.)
enum DownloadFolders {
    static let prefix = "fanout-downloads-"

    /// The folder of this process's downloads.
    static var processFolder: URL { folder(pid: getpid()) }

    static func folder(pid: Int32, in directory: URL = FileManager.default.temporaryDirectory) -> URL {
        directory.appendingPathComponent(prefix + String(pid), isDirectory: true)
    }

    private static let swept = Mutex(false)

    /// A new, empty folder for one download; the first call of a process first removes dead processes' folders.
    static func make() throws -> URL {
        let sweep = swept.withLock { swept in
            defer { swept = true }
            return !swept
        }
        if sweep { removeFoldersOfDeadProcesses() }
        let folder = processFolder.appendingPathComponent(UUID().uuidString, isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            // Another download may have removed the (then empty) process folder at that moment: once more.
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        return folder
    }

    /// Deletes a download's folder, and the process folder when no other download uses it.
    static func remove(_ folder: URL) {
        try? FileManager.default.removeItem(at: folder)
        _ = rmdir(folder.deletingLastPathComponent().path)
    }

    /// Deletes the download folders of processes that no longer exist.
    /// - Returns: the process ids whose folders were deleted.
    @discardableResult
    static func removeFoldersOfDeadProcesses(
        in directory: URL = FileManager.default.temporaryDirectory
    ) -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        var removed: [Int32] = []
        for name in names where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count)), pid > 0, !isAlive(pid) else { continue }
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name, isDirectory: true))
            removed.append(pid)
        }
        return removed
    }

    /// Whether a process with this id exists (one of another user's counts: it may be the owner).
    static func isAlive(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }
}
