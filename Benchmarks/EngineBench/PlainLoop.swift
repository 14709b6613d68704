import Foundation
import Synchronization

/// The plain loop the engine is measured against: list a folder's files, then read each on one of `threads`
/// threads and add up the bytes. No plan, no stored results, no de-duplication.
enum PlainLoop {
    static func byteCount(folder: String, threads: Int) -> (files: Int, bytes: Int) {
        var paths: [String] = []
        walk(folder.hasSuffix("/") ? String(folder.dropLast()) : folder, into: &paths)
        let totals = Mutex<(files: Int, bytes: Int)>((0, 0))
        let next = Atomic<Int>(0)
        let group = DispatchGroup()
        for _ in 0..<max(1, threads) {
            group.enter()
            Thread.detachNewThread { [paths] in
                var buffer = [UInt8](repeating: 0, count: 64 * 1024)
                var (files, bytes) = (0, 0)
                while true {
                    let index = next.add(1, ordering: .relaxed).oldValue
                    guard index < paths.count else { break }
                    let descriptor = open(paths[index], O_RDONLY)
                    guard descriptor >= 0 else { continue }
                    while true {
                        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                        if count <= 0 { break }
                        bytes += count
                    }
                    close(descriptor)
                    files += 1
                }
                totals.withLock { $0.files += files; $0.bytes += bytes }
                group.leave()
            }
        }
        group.wait()
        return totals.withLock { $0 }
    }

    /// Every regular file under `folder`, by `readdir`, as `find` lists them.
    private static func walk(_ folder: String, into paths: inout [String]) {
        guard let directory = opendir(folder) else { return }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name == "." || name == ".." { continue }
            let path = folder + "/" + name
            switch Int32(entry.pointee.d_type) {
            case Int32(DT_DIR): walk(path, into: &paths)
            case Int32(DT_REG): paths.append(path)
            default: break
            }
        }
    }
}
