@testable import FanoutStorage
import FanoutTestSupport
import Foundation
import Testing

/// What only the local store does; the behaviour it shares with S3 is in ``ObjectStoreTests``.
@Suite("LocalObjectStore")
struct LocalObjectStoreTests {
    /// Every file under `folder`, as paths relative to it, hidden ones included.
    func files(in folder: URL) throws -> [String] {
        let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey])
        var paths: [String] = []
        while let url = enumerator?.nextObject() as? URL {
            guard try url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile == true else { continue }
            paths.append(String(url.standardizedFileURL.path.dropFirst(folder.path.count + 1)))
        }
        return paths.sorted()
    }

    @Test("writes are atomic and leave no temporary files, also when refused")
    func noTemporaryFiles() async throws {
        try await withTemporaryDirectory { folder in
            let store = LocalObjectStore(root: folder)
            try await store.put(key: "a/b/c.txt", data: Data("one".utf8))
            try await store.put(key: "a/b/c.txt", data: Data("two".utf8))
            await #expect(throws: ObjectStoreError.self) {
                try await store.put(key: "a/b/c.txt", data: Data("three".utf8), options: PutOptions(ifNoneMatch: true))
            }
            let source = folder.appendingPathComponent("source.bin")
            try Data("file".utf8).write(to: source)
            try await store.put(key: "copy.bin", file: source, options: PutOptions())
            #expect(try files(in: folder) == ["a/b/c.txt", "copy.bin", "source.bin"])
            #expect(try Data(contentsOf: folder.appendingPathComponent("a/b/c.txt")) == Data("two".utf8))
        }
    }

    @Test("deleting the last object under a folder removes the folder and its lock files, as a prefix on S3 goes")
    func deleteLeavesNoEmptyFolders() async throws {
        try await withTemporaryDirectory { folder in
            let store = LocalObjectStore(root: folder)
            let first = try await store.put(key: "runs/r1/lease.json", data: Data("1".utf8))
            try await store.put(
                key: "runs/r1/lease.json", data: Data("2".utf8), options: PutOptions(ifMatch: first.etag))
            try await store.put(key: "runs/r1/segments/s/0.jsonl", data: Data("x".utf8))
            try await store.put(key: "runs/r2/spec.json", data: Data("{}".utf8))
            try await store.delete(keys: ["runs/r1/lease.json", "runs/r1/segments/s/0.jsonl"])
            var prefixes: [String] = []
            for try await page in store.list(prefix: "runs/", options: ListOptions(delimiter: "/")).pages {
                prefixes += page.commonPrefixes
            }
            #expect(prefixes == ["runs/r2/"])
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("runs/r1").path))
            #expect(try files(in: folder) == ["runs/r2/spec.json"])
        }
    }

    @Test("a write's temporary file is never listed, even one left by a crash")
    func temporaryFilesHidden() async throws {
        try await withTemporaryDirectory { folder in
            let store = LocalObjectStore(root: folder)
            try await store.put(key: "dir/real", data: Data("x".utf8))
            try Data("partial".utf8).write(to: folder.appendingPathComponent("dir/.fanout-tmp-1234"))
            #expect(try await store.keys() == ["dir/real"])
        }
    }

    @Test("keys that would escape the folder or are not plain paths are rejected", arguments: [
        "", "/etc/passwd", "../outside", "a/../../b", "a//b", "./a", "a/./b", "a/", "a/..",
    ])
    func invalidKeys(key: String) async throws {
        try await withTemporaryDirectory { folder in
            let store = LocalObjectStore(root: folder.appendingPathComponent("root"))
            for operation in ["put", "get", "head", "delete"] {
                let error = await #expect(throws: ObjectStoreError.self, "\(operation)") {
                    switch operation {
                    case "put": try await store.put(key: key, data: Data("x".utf8))
                    case "get": _ = try await store.get(key: key)
                    case "head": _ = try await store.head(key: key)
                    default: try await store.delete(key: key)
                    }
                }
                #expect(error?.code == .invalidArgument, "\(operation)")
            }
            let left = try files(in: folder)
            #expect(left.isEmpty)
        }
    }

    @Test("a flat folder of 20,000 files lists one key per page, each page resuming the walk", .timeLimit(.minutes(1)))
    func manySmallPages() async throws {
        try await withTemporaryDirectory { folder in
            let names = (0..<20_000).map { String(format: "f%05d", $0) }
            for name in names {
                guard FileManager.default.createFile(atPath: folder.appendingPathComponent(name).path, contents: nil)
                else { throw CocoaError(.fileWriteUnknown) }
            }
            let store = LocalObjectStore(root: folder)
            var keys: [String] = []
            for try await page in store.list(prefix: "", options: ListOptions(pageSize: 1)).pages {
                keys += page.objects.map(\.key)
            }
            #expect(keys == names)
        }
    }

    @Test("a continuation given to a new listing resumes after it")
    func resumeFromContinuation() async throws {
        try await withTemporaryDirectory { folder in
            let store = LocalObjectStore(root: folder)
            try await putObjects(["a/1", "a/2", "b/1", "b/2", "c"], into: store)
            var first = store.list(prefix: "", options: ListOptions(pageSize: 3)).pages.makeAsyncIterator()
            let page = try await first.next()
            #expect(page?.objects.map(\.key) == ["a/1", "a/2", "b/1"])
            let resumed = store.list(prefix: "", options: ListOptions(startAfter: page?.continuation))
            #expect(try await resumed.collect().map(\.key) == ["b/2", "c"])
            #expect(try await first.next()?.objects.map(\.key) == ["b/2", "c"])

            // Iterating one listing twice, in turns, gives every key to each iteration.
            let listing = store.list(prefix: "", options: ListOptions(pageSize: 2))
            var one = listing.makeAsyncIterator()
            var two = listing.makeAsyncIterator()
            var keys: [String] = []
            for _ in 0..<5 {
                keys.append(try await one.next()?.key ?? "")
                keys.append(try await two.next()?.key ?? "")
            }
            #expect(keys == ["a/1", "a/1", "a/2", "a/2", "b/1", "b/1", "b/2", "b/2", "c", "c"])
            #expect(try await one.next() == nil)
        }
    }

    @Test("large reads, writes and copies run off the cooperative threads and round-trip")
    func largeFilesOffloaded() async throws {
        try await withTemporaryDirectory { folder in
            let store = LocalObjectStore(root: folder)
            let data = patternBytes(BlockingFileIO.inPlaceLimit + 4097, seed: 5)
            let source = folder.appendingPathComponent("source.bin")
            try data.write(to: source)
            // Other tests may offload too, so each step must add at least one.
            var offloaded = BlockingFileIO.offloadedCount
            func expectOffloaded(_ step: String) {
                #expect(BlockingFileIO.offloadedCount > offloaded, "\(step)")
                offloaded = BlockingFileIO.offloadedCount
            }
            try await store.put(key: "big/data", data: data)
            expectOffloaded("put data")
            try await store.put(key: "big/copy", file: source, options: PutOptions())
            expectOffloaded("put file")
            #expect(try await store.get(key: "big/data") == data)
            expectOffloaded("get")
            #expect(try await store.get(key: "big/copy", range: 1...Int64.max) == data.dropFirst())
            expectOffloaded("get range")
            #expect(try await store.get(key: "big/copy", range: 10...19) == data[10...19])
        }
    }

    @Test("a folder is not an object")
    func folderIsNotAnObject() async throws {
        try await withTemporaryDirectory { folder in
            let store = LocalObjectStore(root: folder)
            try await store.put(key: "dir/file", data: Data("x".utf8))
            let error = await #expect(throws: ObjectStoreError.self) { try await store.head(key: "dir") }
            #expect(error?.code == .notFound)
        }
    }

    @Test("listing a folder that does not exist is empty, not an error")
    func missingRoot() async throws {
        try await withTemporaryDirectory { folder in
            let store = LocalObjectStore(root: folder.appendingPathComponent("not-there"))
            let keys = try await store.keys()
            #expect(keys.isEmpty)
        }
    }

    @Test("empty files are objects of size 0 with a stable etag")
    func emptyFile() async throws {
        try await withTemporaryDirectory { folder in
            let store = LocalObjectStore(root: folder)
            let put = try await store.put(key: "empty", data: Data())
            let info = try await store.head(key: "empty")
            #expect(info.size == 0)
            #expect(info.etag == put.etag)
            #expect(try await store.get(key: "empty") == Data())
            var chunks = 0
            for try await _ in try await store.stream(key: "empty", range: nil) { chunks += 1 }
            #expect(chunks == 0)
        }
    }

    @Test("presigned URLs are the file's URL")
    func presign() async throws {
        try await withTemporaryDirectory { folder in
            let store = LocalObjectStore(root: folder)
            let url = try await store.presignedURL(key: "a b/c.txt", method: .get, expires: .seconds(60))
            #expect(url.isFileURL)
            #expect(url.path == folder.path + "/a b/c.txt")
            #expect(store.description == folder.absoluteString)
        }
    }
}

extension LocalObjectStoreTests {
    @Test func keysAreRelativePathsWithoutEmptyDotOrDotDotSegments() {
        for key in ["a", "a/b", "...", "a/.../b", ".hidden", "a/.b/c..", "é/✓"] {
            #expect(LocalObjectStore.isRelativePath(key), "\(key)")
        }
        for key in ["", "/a", "a/", "a//b", ".", "..", "a/./b", "a/../b", "../a", "a/..", "a/."] {
            #expect(!LocalObjectStore.isRelativePath(key), "\(key)")
        }
    }
}

extension LocalObjectStoreTests {
    @Test func keysSortBytewiseAsS3SortsThem() {
        let keys = ["b", "a/", "a", "ab", "a-b", "é", "z", "", "aa\u{10FD80}", "aa", "A", "✓", "e\u{301}"]
        let expected = keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        #expect(keys.sorted { $0.precedesBytewise($1) } == expected)
        #expect(!"a".precedesBytewise("a") && "a".precedesBytewise("a/") && !"b".precedesBytewise("a"))
    }
}
