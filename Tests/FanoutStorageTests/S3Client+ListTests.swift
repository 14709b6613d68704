import FanoutHTTP
@testable import FanoutStorage
import FanoutTestSupport
import Foundation
import Synchronization
import Testing

@Suite("S3Client: ListObjectsV2")
struct S3ClientListTests {
    @Test("2,500 keys come in three pages, in order, fetched one page at a time")
    func pagination() async throws {
        let client = try makeS3Client()
        try await withTemporaryBucket(client: client) { bucket in
            let store = client.store(bucket: bucket)
            let keys = (0..<2500).map { String(format: "logs/%05d.json", $0) }
            try await putObjects(keys.shuffled(), into: store, concurrency: 16) { _ in Data("{}\n".utf8) }

            let pages = try await store.pages(prefix: "logs/", options: ListOptions(pageSize: 1000))
            #expect(pages.map(\.keys.count) == [1000, 1000, 500])
            #expect(pages.flatMap(\.keys) == keys)

            // Iterating object by object: the next page is requested only when the current one is used up.
            let fetches = Mutex(0)
            let listing = ObjectListing { continuation in
                fetches.withLock { $0 += 1 }
                return try await client.listObjectsPage(
                    bucket: bucket, prefix: "logs/", options: ListOptions(pageSize: 1000), continuation: continuation)
            }
            var iterator = listing.makeAsyncIterator()
            var seen: [String] = []
            while let object = try await iterator.next() {
                seen.append(object.key)
                #expect(object.size == 3)
                let expectedFetches = (seen.count + 999) / 1000
                if fetches.withLock({ $0 }) != expectedFetches {
                    Issue.record("after \(seen.count) keys, \(fetches.withLock { $0 }) pages were fetched")
                    break
                }
            }
            #expect(seen == keys)
            #expect(fetches.withLock { $0 } == 3)

            // A page size below S3's maximum, and start-after in the middle.
            let small = try await store.pages(
                prefix: "logs/", options: ListOptions(startAfter: "logs/02249.json", pageSize: 100))
            #expect(small.map(\.keys.count) == [100, 100, 50])
            #expect(small.first?.keys.first == "logs/02250.json")
        }
    }

    @Test("prefix, delimiter and startAfter together")
    func delimiterAndPrefix() async throws {
        let client = try makeS3Client()
        try await withTemporaryBucket(client: client) { bucket in
            let store = client.store(bucket: bucket)
            let keys = [
                "2024/01/a.csv", "2024/01/b.csv", "2024/02/a.csv", "2024/readme", "2025/01/a.csv", "index.html",
            ]
            try await putObjects(keys, into: store)
            let years = try await store.pages(options: ListOptions(delimiter: "/"))
            #expect(years.flatMap(\.prefixes) == ["2024/", "2025/"])
            #expect(years.flatMap(\.keys) == ["index.html"])

            let months = try await store.pages(prefix: "2024/", options: ListOptions(delimiter: "/"))
            #expect(months.flatMap(\.prefixes) == ["2024/01/", "2024/02/"])
            #expect(months.flatMap(\.keys) == ["2024/readme"])

            let after = try await store.keys(prefix: "2024/", options: ListOptions(startAfter: "2024/01/a.csv"))
            #expect(after == ["2024/01/b.csv", "2024/02/a.csv", "2024/readme"])
        }
    }

    @Test("a page's XML is decoded: URL-encoded keys, sizes, ETags, dates and the continuation token")
    func parsePage() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <Name>b</Name><Prefix>dir%2F</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
              <EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>
              <NextContinuationToken>token/+=</NextContinuationToken>
              <Contents>
                <Key>dir/a+b%2Bc%20d%C3%BC</Key><LastModified>2024-02-29T23:59:58.250Z</LastModified>
                <ETag>&quot;0123abcd&quot;</ETag><Size>42</Size><StorageClass>STANDARD</StorageClass>
              </Contents>
              <Contents>
                <Key>dir/%26amp%3B</Key><LastModified>1999-12-31T00:00:00Z</LastModified>
                <ETag>"ff-2"</ETag><Size>0</Size>
              </Contents>
              <CommonPrefixes><Prefix>dir/sub%20folder/</Prefix></CommonPrefixes>
            </ListBucketResult>
            """
        let page = try S3Client.parseListPage(Data(xml.utf8))
        #expect(page.objects.map(\.key) == ["dir/a b+c dü", "dir/&amp;"])
        #expect(page.objects.map(\.size) == [42, 0])
        #expect(page.objects.map(\.etag) == ["0123abcd", "ff-2"])
        #expect(page.objects.first?.lastModified == Date(timeIntervalSince1970: 1_709_251_198.25))
        #expect(page.objects.last?.lastModified == Date(timeIntervalSince1970: 946_598_400))
        #expect(page.commonPrefixes == ["dir/sub folder/"])
        #expect(page.continuation == "token/+=")
    }

    @Test("a truncated page without a continuation token is an error, not a silent end")
    func truncatedWithoutToken() {
        let xml = "<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>a</Key></Contents>"
            + "</ListBucketResult>"
        #expect(throws: ObjectStoreError.self) { try S3Client.parseListPage(Data(xml.utf8)) }
    }
}
