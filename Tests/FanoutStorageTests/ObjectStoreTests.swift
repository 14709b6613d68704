import FanoutStorage
import FanoutTestSupport
import Foundation
import Testing

/// The behaviour every ``ObjectStore`` promises, run against a local folder and a moto bucket alike.
@Suite("ObjectStore contract")
struct ObjectStoreTests {
    /// Keys whose bytewise order differs from a naive path order: `-` (0x2D) < `.` (0x2E) < `/` (0x2F) < `0`.
    static let orderingKeys = [
        "a0", "a/c/d", "a.b", "a-b", "a/b", "a/c.txt", "b", "a/c/e/f", "ab/x", "ab.txt", "ä", "z~",
    ]

    @Test("put, head, get and delete round-trip", arguments: StoreKind.allCases)
    func roundTrip(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let data = patternBytes(10_000)
            let put = try await store.put(key: "folder/data.bin", data: data)
            let info = try await store.head(key: "folder/data.bin")
            #expect(info.key == "folder/data.bin")
            #expect(info.size == 10_000)
            #expect(info.etag == put.etag)
            #expect(!info.etag.isEmpty)
            #expect(abs(info.lastModified.timeIntervalSinceNow) < 300)
            #expect(try await store.get(key: "folder/data.bin") == data)

            try await store.delete(key: "folder/data.bin")
            let error = await #expect(throws: ObjectStoreError.self) { try await store.head(key: "folder/data.bin") }
            #expect(error?.code == .notFound)
            #expect(try await store.keys() == [String]())
        }
    }

    @Test("a read with the listed etag fails once the object has changed", arguments: StoreKind.allCases)
    func conditionalRead(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await store.put(key: "k", data: Data("first\n".utf8))
            let listed = try #require(try await store.list(prefix: "").collect().first)
            #expect(try await store.get(key: "k", range: nil, ifMatch: listed.etag) == Data("first\n".utf8))
            var streamed = Data()
            for try await chunk in try await store.stream(key: "k", range: nil, ifMatch: listed.etag) {
                streamed.append(chunk)
            }
            #expect(streamed == Data("first\n".utf8))

            try await store.put(key: "k", data: Data("second, longer\n".utf8))
            let read = await #expect(throws: ObjectStoreError.self) {
                try await store.get(key: "k", range: nil, ifMatch: listed.etag)
            }
            #expect(read?.code == .preconditionFailed, "\(String(describing: read))")
            let stream = await #expect(throws: ObjectStoreError.self) {
                try await store.stream(key: "k", range: 0...3, ifMatch: listed.etag)
            }
            #expect(stream?.code == .preconditionFailed, "\(String(describing: stream))")
        }
    }

    @Test("overwriting replaces the bytes and the etag", arguments: StoreKind.allCases)
    func overwrite(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let first = try await store.put(key: "k", data: Data("first".utf8))
            let second = try await store.put(key: "k", data: Data("second, longer".utf8))
            #expect(first.etag != second.etag)
            #expect(try await store.get(key: "k") == Data("second, longer".utf8))
            #expect(try await store.head(key: "k").size == 14)
        }
    }

    @Test("lists in bytewise key order, nested folders included", arguments: StoreKind.allCases)
    func listOrder(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await putObjects(Self.orderingKeys, into: store)
            let expected = Self.orderingKeys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            #expect(expected.prefix(6) == ["a-b", "a.b", "a/b", "a/c.txt", "a/c/d", "a/c/e/f"])
            #expect(try await store.keys() == expected)

            let listed = try await store.list(prefix: "").collect()
            #expect(listed.map(\.size) == expected.map { Int64($0.utf8.count) })
        }
    }

    @Test("a prefix selects keys that start with it, at a folder boundary or not", arguments: StoreKind.allCases)
    func prefix(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await putObjects(Self.orderingKeys, into: store)
            #expect(try await store.keys(prefix: "a/c") == ["a/c.txt", "a/c/d", "a/c/e/f"])
            #expect(try await store.keys(prefix: "a/c/") == ["a/c/d", "a/c/e/f"])
            #expect(try await store.keys(prefix: "ab") == ["ab.txt", "ab/x"])
            #expect(try await store.keys(prefix: "a/c/e/f") == ["a/c/e/f"])
            #expect(try await store.keys(prefix: "nothing/here") == [String]())
        }
    }

    @Test("pages hold at most pageSize entries and resume where the last one ended", arguments: StoreKind.allCases)
    func pagination(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await putObjects(Self.orderingKeys, into: store)
            let expected = Self.orderingKeys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            let pages = try await store.pages(options: ListOptions(pageSize: 5))
            #expect(pages.map(\.keys.count) == [5, 5, 2])
            #expect(pages.flatMap(\.keys) == expected)
        }
    }

    @Test("startAfter lists only the keys after it", arguments: StoreKind.allCases)
    func startAfter(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await putObjects(Self.orderingKeys, into: store)
            let expected = Self.orderingKeys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            // An existing key, a folder's name without its slash, and a key that does not exist.
            for startAfter in ["a/c.txt", "a/c", "a/c/dd", "a/", "zz"] {
                let after = expected.filter { startAfter.utf8.lexicographicallyPrecedes($0.utf8) }
                #expect(try await store.keys(options: ListOptions(startAfter: startAfter)) == after, "\(startAfter)")
                let paged = try await store.pages(options: ListOptions(startAfter: startAfter, pageSize: 2))
                #expect(paged.flatMap(\.keys) == after, "\(startAfter), paged")
            }
        }
    }

    @Test("a delimiter rolls keys up into common prefixes", arguments: StoreKind.allCases)
    func delimiter(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await putObjects(Self.orderingKeys, into: store)
            let top = try await store.pages(options: ListOptions(delimiter: "/"))
            #expect(top.count == 1)
            #expect(top.first?.keys == ["a-b", "a.b", "a0", "ab.txt", "b", "z~", "ä"])
            #expect(top.first?.prefixes == ["a/", "ab/"])

            let inA = try await store.pages(prefix: "a/", options: ListOptions(delimiter: "/"))
            #expect(inA.flatMap(\.keys) == ["a/b", "a/c.txt"])
            #expect(inA.flatMap(\.prefixes) == ["a/c/"])

            // A prefix that is not a folder: the rolled-up prefixes still start with it.
            let partial = try await store.pages(prefix: "a/c", options: ListOptions(delimiter: "/"))
            #expect(partial.flatMap(\.keys) == ["a/c.txt"])
            #expect(partial.flatMap(\.prefixes) == ["a/c/"])
        }
    }

    @Test("paged listings with a delimiter give each common prefix once", arguments: StoreKind.allCases)
    func delimiterPagination(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let keys = (0..<6).flatMap { folder in (0..<3).map { "d\(folder)/f\($0)" } } + ["top1", "top2"]
            try await putObjects(keys, into: store)
            let pages = try await store.pages(options: ListOptions(pageSize: 3, delimiter: "/"))
            // Cloud Storage counts prefixes against maxResults too; fake-gcs-server counts only objects.
            let entries = { (page: (keys: [String], prefixes: [String])) in
                kind == .gcs ? page.keys.count : page.keys.count + page.prefixes.count
            }
            #expect(pages.allSatisfy { entries($0) <= 3 })
            #expect(pages.flatMap(\.prefixes) == (0..<6).map { "d\($0)/" })
            #expect(pages.flatMap(\.keys) == ["top1", "top2"])
        }
    }

    @Test("keys rolled up to one prefix by a delimiter other than / give it once", arguments: StoreKind.allCases)
    func delimiterWithinNames(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await putObjects(["a-1", "a-2", "a-3/b", "a/c", "b-1", "c"], into: store)
            for pageSize in [1, 2, 1000] {
                let pages = try await store.pages(options: ListOptions(pageSize: pageSize, delimiter: "-"))
                #expect(pages.flatMap(\.prefixes) == ["a-", "b-"], "pages of \(pageSize)")
                #expect(pages.flatMap(\.keys) == ["a/c", "c"], "pages of \(pageSize)")
            }
        }
    }

    @Test("byte ranges include both ends and are clamped to the object", arguments: StoreKind.allCases)
    func ranges(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let data = patternBytes(1000)
            try await store.put(key: "r", data: data)
            #expect(try await store.get(key: "r", range: 0...0) == data.prefix(1))
            #expect(try await store.get(key: "r", range: 10...19) == data[10...19])
            #expect(try await store.get(key: "r", range: 999...999) == data.suffix(1))
            #expect(try await store.get(key: "r", range: 990...5000) == data[990...])

            var streamed = Data()
            for try await chunk in try await store.stream(key: "r", range: 100...899) { streamed.append(chunk) }
            #expect(streamed == data[100...899])

            let error = await #expect(throws: ObjectStoreError.self) {
                try await store.get(key: "r", range: 1000...1010)
            }
            #expect(error?.code == .invalidArgument)
        }
    }

    @Test("streams whole objects and their lines", arguments: StoreKind.allCases)
    func stream(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let lines = (0..<5000).map { "line \($0): " + String(repeating: "x", count: $0 % 97) }
            let text = lines.joined(separator: "\n") + "\n"
            try await store.put(key: "lines.txt", data: Data(text.utf8))
            let stream = try await store.stream(key: "lines.txt", range: nil)
            #expect(stream.length == Int64(text.utf8.count))
            var read: [String] = []
            for try await line in stream.lines { read.append(line) }
            #expect(read == lines)
        }
    }

    @Test("ifNoneMatch refuses to overwrite and keeps the first bytes", arguments: StoreKind.allCases)
    func ifNoneMatch(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let options = PutOptions(ifNoneMatch: true)
            try await store.put(key: "once", data: Data("first".utf8), options: options)
            let error = await #expect(throws: ObjectStoreError.self) {
                try await store.put(key: "once", data: Data("second".utf8), options: options)
            }
            #expect(error?.code == .preconditionFailed)
            #expect(try await store.get(key: "once") == Data("first".utf8))
        }
    }

    @Test("missing keys are notFound; deleting one succeeds", arguments: StoreKind.allCases)
    func missing(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await store.put(key: "present", data: Data("x".utf8))
            let head = await #expect(throws: ObjectStoreError.self) { try await store.head(key: "absent") }
            #expect(head?.code == .notFound)
            let get = await #expect(throws: ObjectStoreError.self) { try await store.get(key: "absent") }
            #expect(get?.code == .notFound)
            let stream = await #expect(throws: ObjectStoreError.self) {
                _ = try await store.stream(key: "dir/absent", range: nil)
            }
            #expect(stream?.code == .notFound)
            try await store.delete(key: "absent")
            try await store.delete(keys: ["absent", "also/absent"])
            #expect(try await store.keys() == ["present"])
        }
    }

    @Test("delete(keys:) removes every key given and nothing else", arguments: StoreKind.allCases)
    func deleteMany(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let keys = (0..<40).map { "batch/\($0 % 4)/k\($0)" }
            try await putObjects(keys + ["keep/me"], into: store)
            try await store.delete(keys: keys)
            #expect(try await store.keys() == ["keep/me"])
        }
    }

    @Test("puts a local file", arguments: StoreKind.allCases)
    func putFile(kind: StoreKind) async throws {
        try await withTemporaryDirectory { folder in
            let file = folder.appendingPathComponent("source.bin")
            let data = patternBytes(300_000, seed: 7)
            try data.write(to: file)
            try await kind.withStore { store in
                let put = try await store.put(key: "copied/source.bin", file: file, options: PutOptions())
                #expect(try await store.head(key: "copied/source.bin").etag == put.etag)
                #expect(try await store.get(key: "copied/source.bin") == data)
            }
        }
    }

    @Test(
        "keys with spaces, unicode and URL-special characters round-trip",
        arguments: StoreKind.allCases
    )
    func specialKeys(kind: StoreKind) async throws {
        let keys = [
            "with space.txt", "plus+sign", "equals=sign&amp", "tilde~", "percent%2Fliteral", "question?mark",
            "hash#tag", "semi;colon,comma", "unicode/ünïcødé/日本語.txt", "emoji 😀/file", "quote'and\"double",
            "nested/deep/path/to/file.csv", "star*paren(1)", "dollar$at@", "brackets[x]{y}",
        ]
        try await kind.withStore { store in
            try await putObjects(keys, into: store)
            let sorted = keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            #expect(try await store.keys() == sorted)
            for key in keys {
                #expect(try await store.get(key: key) == Data(key.utf8), "\(key)")
                #expect(try await store.head(key: key).size == Int64(key.utf8.count), "\(key)")
                #expect(try await store.keys(prefix: key) == [key], "prefix \(key)")
            }
            #expect(try await store.keys(prefix: "with sp") == ["with space.txt"])
            #expect(try await store.keys(prefix: "plus+") == ["plus+sign"])
            #expect(try await store.keys(prefix: "unicode/ünïcødé/") == ["unicode/ünïcødé/日本語.txt"])
            try await store.delete(keys: Array(keys.prefix(7)))
            for key in keys.dropFirst(7) { try await store.delete(key: key) }
            #expect(try await store.keys() == [String]())
        }
    }
}
