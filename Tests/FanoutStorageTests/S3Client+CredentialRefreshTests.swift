import FanoutHTTP
import FanoutSigV4
import FanoutTestSupport
import Foundation
import Synchronization
import Testing

@testable import FanoutStorage

@Suite("S3Client: credentials that expire during a listing", .serialized)
struct S3ClientCredentialRefreshTests {
    @Test("container credentials expire in the middle of a listing: one refresh, and the listing goes on")
    func credentialsExpiringMidListingAreRefreshedOnce() async throws {
        let server = try AWSMetadataTestServer()
        try await server.configureContainer(token: "pod-identity-token", expiresIn: 600)
        let clock = CredentialTestClock(Date())
        let provider = ContainerCredentialProvider(
            .init(url: server.containerURL, authorizationToken: "pod-identity-token"))
        let holder = ExpiringCredentials(provider: provider, now: { clock.now })
        let client = try makeS3Client { $0.credentials = .refreshing(holder) }

        try await withTemporaryBucket { bucket in
            let keys = (0..<250).map { String(format: "part/%04d", $0) }
            try await putObjects(keys, into: try makeS3Client().store(bucket: bucket))
            let options = ListOptions(pageSize: 50)
            let pagesFetched = Mutex(0)
            let listing = ObjectListing { continuation in
                let page = pagesFetched.withLock { $0 += 1; return $0 }
                guard page == 3 else {
                    return try await client.listObjectsPage(
                        bucket: bucket, prefix: "part/", options: options, continuation: continuation)
                }
                // Past the first credentials' expiration; the endpoint's next ones last an hour.
                try await server.configureContainer(token: "pod-identity-token", expiresIn: 3600)
                clock.advance(by: 700)
                // Several requests need credentials at once: the page, and others beside it.
                return try await withThrowingTaskGroup(of: ObjectListing.Page?.self) { group in
                    for index in 0..<8 {
                        group.addTask {
                            let fetched = try await client.listObjectsPage(
                                bucket: bucket, prefix: "part/", options: options, continuation: continuation)
                            return index == 0 ? fetched : nil
                        }
                    }
                    var pageThree: ObjectListing.Page?
                    for try await fetched in group where fetched != nil { pageThree = fetched }
                    return try #require(pageThree)
                }
            }
            var listed: [String] = []
            for try await object in listing { listed.append(object.key) }
            #expect(listed == keys)
            #expect(pagesFetched.withLock { $0 } == 5)
        }

        #expect(await holder.fetchCount == 2)
        let requests = try await server.requests()
        #expect(requests.count == 2)
        #expect(requests.allSatisfy { $0.headers["authorization"] == "pod-identity-token" })
        let current = try #require(try await holder.credentials())
        let expiration = try #require(current.expiration)
        #expect(expiration.timeIntervalSince(clock.now) > 2000)
    }
}
