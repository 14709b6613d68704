@testable import FanoutStorage
import FanoutTestSupport
import Foundation
import Testing

/// File names that are not valid UTF-8 become keys that name the same file again.
@Suite("LocalFileName")
struct LocalFileNameTests {
    @Test("raw names round-trip through keys")
    func rawNamesRoundTrip() {
        let names: [[UInt8]] = [
            Array("café.txt".utf8), [0x63, 0x61, 0x66, 0xE9, 0x2E, 0x74, 0x78, 0x74], [0xFF, 0xFE], [0xC3],
            [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC0, 0xAF], Array(0x80...0xFF),
        ]
        for name in names {
            let key = LocalFileName.key(fromBytes: name)
            #expect(LocalFileName.bytes(of: key) == name, "\(name)")
            #expect(String(validating: Array(key.utf8), as: UTF8.self) == key)
        }
        #expect(LocalFileName.key(fromBytes: Array("plain/ok.txt".utf8)) == "plain/ok.txt")
        #expect(LocalFileName.key(fromBytes: [0x61, 0xE9]) == "a\u{10FDE9}")
    }

    @Test("a local store lists, reads and checks files with such names")
    func theLocalStoreUsesTheRawBytes() async throws {
        try await withTemporaryDirectory { folder in
            let latin1: [UInt8] = Array("caf".utf8) + [0xE9] + Array(".txt".utf8)
            let path = Array(folder.path.utf8) + [0x2F] + latin1
            let descriptor = open(path.map { CChar(bitPattern: $0) } + [0], O_CREAT | O_WRONLY, 0o644)
            #expect(descriptor >= 0)
            _ = write(descriptor, "four", 4)
            close(descriptor)
            let store = LocalObjectStore(root: folder)
            let keys = try await store.list(prefix: "").collect().map(\.key)
            #expect(keys == [LocalFileName.key(fromBytes: latin1)])
            let key = try #require(keys.first)
            #expect(try await store.head(key: key).size == 4)
            #expect(try await store.get(key: key, range: nil, ifMatch: nil) == Data("four".utf8))
            #expect(try await store.get(key: key, range: 1...2, ifMatch: nil) == Data("ou".utf8))
            var streamed = Data()
            for try await chunk in try await store.stream(key: key, range: nil, ifMatch: nil) { streamed += chunk }
            #expect(streamed == Data("four".utf8))
        }
    }
}
