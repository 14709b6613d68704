import FanoutHTTP
@testable import FanoutStorage
import FanoutTestSupport
import Foundation
import Testing

@Suite("S3Client: addressing and errors")
struct S3ClientTests {
    func client(endpoint: String?, addressing: S3Configuration.Addressing = .automatic) -> S3Client {
        S3Client(
            configuration: S3Configuration(
                region: "eu-west-1", endpoint: endpoint.flatMap(URL.init(string:)), addressing: addressing,
                credentials: .anonymous))
    }

    @Test("AWS URLs are virtual-hosted unless the bucket name has a dot")
    func awsURLs() {
        let aws = client(endpoint: nil)
        #expect(aws.url(bucket: "logs", key: "a b/c.txt").absoluteString
            == "https://logs.s3.eu-west-1.amazonaws.com/a%20b/c.txt")
        #expect(aws.url(bucket: "my.logs", key: "k").absoluteString == "https://s3.eu-west-1.amazonaws.com/my.logs/k")
        #expect(aws.url(bucket: nil).absoluteString == "https://s3.eu-west-1.amazonaws.com/")
    }

    @Test("custom endpoints are path-style, keys and query values percent-encoded")
    func endpointURLs() {
        let local = client(endpoint: "http://127.0.0.1:9000/")
        #expect(local.url(bucket: "b", key: "x+y=z~/ü").absoluteString == "http://127.0.0.1:9000/b/x%2By%3Dz~/%C3%BC")
        #expect(local.url(bucket: "b", query: [("list-type", "2"), ("prefix", "a b/")]).absoluteString
            == "http://127.0.0.1:9000/b/?list-type=2&prefix=a%20b%2F")
        #expect(local.url(bucket: "b", key: "k", query: [("uploads", nil)]).absoluteString
            == "http://127.0.0.1:9000/b/k?uploads")
        let hosted = client(endpoint: "http://storage.test:9000", addressing: .virtualHosted)
        #expect(hosted.url(bucket: "b", key: "k").absoluteString == "http://b.storage.test:9000/k")
    }

    @Test("a missing bucket is noSuchBucket, with a hint")
    func missingBucket() async throws {
        let client = try makeS3Client()
        let bucket = uniqueBucketName()
        let list = await #expect(throws: ObjectStoreError.self) {
            _ = try await client.listObjects(bucket: bucket, prefix: "").collect()
        }
        #expect(list?.code == .noSuchBucket)
        #expect(list?.status == 404)
        #expect(list?.serverCode == "NoSuchBucket")
        #expect(list?.hint?.contains("bucket does not exist") == true)
        #expect(list?.description.contains("s3://\(bucket)") == true)

        let get = await #expect(throws: ObjectStoreError.self) {
            _ = try await client.getObject(bucket: bucket, key: "k")
        }
        #expect(get?.code == .noSuchBucket)
        let put = await #expect(throws: ObjectStoreError.self) {
            try await client.putObject(bucket: bucket, key: "k", data: Data("x".utf8))
        }
        #expect(put?.code == .noSuchBucket)
    }

    @Test("a missing key is notFound, for GET, stream and HEAD")
    func missingKey() async throws {
        let client = try makeS3Client()
        try await withTemporaryBucket(client: client) { bucket in
            let get = await #expect(throws: ObjectStoreError.self) {
                _ = try await client.getObject(bucket: bucket, key: "no/such key")
            }
            #expect(get?.code == .notFound)
            #expect(get?.serverCode == "NoSuchKey")
            #expect(get?.key == "no/such key")
            let stream = await #expect(throws: ObjectStoreError.self) {
                _ = try await client.streamObject(bucket: bucket, key: "no/such key")
            }
            #expect(stream?.code == .notFound)
            let head = await #expect(throws: ObjectStoreError.self) {
                _ = try await client.headObject(bucket: bucket, key: "no/such key")
            }
            #expect(head?.code == .notFound)
            #expect(head?.status == 404)
        }
    }

    @Test("an unsigned request to a private bucket is accessDenied, naming the bucket")
    func anonymous() async throws {
        let client = try makeS3Client()
        try await withTemporaryBucket(client: client) { bucket in
            try await client.putObject(bucket: bucket, key: "private", data: Data("closed".utf8))
            let anonymous = try makeS3Client { $0.credentials = .anonymous }
            let error = await #expect(throws: ObjectStoreError.self) {
                _ = try await anonymous.getObject(bucket: bucket, key: "private")
            }
            #expect(error?.code == .accessDenied)
            #expect(error?.status == 403)
            #expect(error?.hint?.contains("s3://\(bucket)") == true)
        }
    }
}
