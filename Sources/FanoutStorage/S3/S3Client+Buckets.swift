import Foundation
import FanoutHTTP

extension S3Client {
    /// CreateBucket in the configured region; succeeds if this account already owns the bucket.
    public func createBucket(_ bucket: String) async throws {
        var body: Data?
        if configuration.region != "us-east-1" {
            body = Data(
                ("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                    + "<LocationConstraint>\(configuration.region)</LocationConstraint></CreateBucketConfiguration>")
                    .utf8)
        }
        do {
            _ = try await send(.put, bucket: bucket, body: body)
        } catch let error as ObjectStoreError where error.serverCode == "BucketAlreadyOwnedByYou" {
            return
        }
    }

    /// DeleteBucket; the bucket must be empty.
    public func deleteBucket(_ bucket: String) async throws {
        _ = try await send(.delete, bucket: bucket)
    }
}
