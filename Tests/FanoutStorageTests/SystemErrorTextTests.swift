@testable import FanoutStorage
import FanoutTestSupport
import Foundation
import Testing

/// File-system errors read as one line with the path and the reason, never as a dump of an `NSError`.
@Suite("SystemErrorText")
struct SystemErrorTextTests {
    @Test("a full disk is 'no space left on device', with the path")
    func aFullDiskIsNamedByItsReason() throws {
        // /dev/full fails every write with ENOSPC, as a full disk does.
        let error = #expect(throws: (any Error).self) { try Data("x".utf8).write(to: URL(fileURLWithPath: "/dev/full")) }
        let thrown = try #require(error)
        #expect(SystemErrorText.reason(thrown) == "no space left on device")
        #expect(SystemErrorText.describe(thrown) == "/dev/full: no space left on device")
        let stored = ObjectStoreError(code: .io, message: "cannot write /dev/full", underlying: thrown)
        #expect(stored.description == "cannot write /dev/full: no space left on device")
    }

    @Test("POSIX errors and errors of other kinds")
    func otherErrors() {
        #expect(SystemErrorText.reason(POSIXError(.EACCES)) == "permission denied")
        #expect(SystemErrorText.reason(NSError(domain: NSPOSIXErrorDomain, code: Int(ENOENT))) == "no such file or directory")
        #expect(SystemErrorText.reason(CocoaError(.fileWriteOutOfSpace)) == "no space left on device")
        let own = ObjectStoreError(code: .server, message: "it broke")
        #expect(SystemErrorText.reason(own) == "it broke")
        #expect(!SystemErrorText.isSystemError(own))
    }

    @Test("a local store that cannot write says where and why on one line")
    func aLocalWriteErrorIsOneLine() async throws {
        try await withTemporaryDirectory { folder in
            let store = LocalObjectStore(root: folder)
            try await store.put(key: "a", data: Data("a file, not a folder".utf8))
            let error = await #expect(throws: ObjectStoreError.self) {
                try await store.put(key: "a/b.txt", data: Data("x".utf8))
            }
            let text = try #require(error).description
            #expect(text.hasPrefix("cannot write \(folder.path)/a/b.txt: "), "\(text)")
            #expect(!text.contains("Domain") && !text.contains("UserInfo") && !text.contains("\n"), "\(text)")
            let missing = folder.appendingPathComponent("no-such-source")
            let copy = await #expect(throws: ObjectStoreError.self) { try await store.put(key: "c", file: missing, options: PutOptions()) }
            #expect(try #require(copy).description.contains(": no such file or directory"), "\(String(describing: copy))")
        }
    }
}
