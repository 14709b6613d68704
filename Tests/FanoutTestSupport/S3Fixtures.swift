public import FanoutHTTP
public import FanoutStorage
public import Foundation
import FanoutSigV4

/// An S3 client for the test servers: path-style addressing, the test credentials from the environment, and an
/// HTTP client of its own with the given retry policy and stall timeout.
///
/// - Parameters:
///   - endpoint: Default ``TestEnvironment/s3Endpoint`` (moto); pass ``TestEnvironment/faultProxy`` to go through
///     the fault proxy.
///   - configure: Changes to the S3 configuration (multipart sizes, the signing clock).
/// - Throws: ``TestEnvironmentError`` when the test servers' variables are missing.
public func makeS3Client(
    endpoint: URL? = nil,
    retry: RetryPolicy = .default,
    stallTimeout: Duration? = .seconds(30),
    configure: (inout S3Configuration) -> Void = { _ in }
) throws -> S3Client {
    _ = try TestEnvironment.variables
    var configuration = S3Configuration.fromEnvironment()
    configuration.endpoint = try endpoint ?? TestEnvironment.s3Endpoint
    configuration.addressing = .path
    configure(&configuration)
    let http = HTTPClient(configuration: HTTPClient.Configuration(stallTimeout: stallTimeout, retry: retry))
    return S3Client(configuration: configuration, httpClient: http)
}

/// A bucket name no other test uses: `fanout-test-` and 16 random hex digits.
public func uniqueBucketName() -> String {
    "fanout-test-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
}

/// Creates a uniquely named bucket, runs `body` with its name, then deletes every object in it and the bucket.
///
/// Cleanup runs whether `body` throws or not; a failed cleanup is thrown only when `body` succeeded.
public func withTemporaryBucket<T>(
    client: S3Client? = nil,
    isolation: isolated (any Actor)? = #isolation,
    _ body: (String) async throws -> T
) async throws -> T {
    let client = try client ?? makeS3Client()
    let bucket = uniqueBucketName()
    try await client.createBucket(bucket)
    let result: Result<T, any Error>
    do {
        result = .success(try await body(bucket))
    } catch {
        result = .failure(error)
    }
    do {
        try await emptyAndDeleteBucket(bucket, client: client)
    } catch {
        if case .success = result { throw error }
    }
    return try result.get()
}

/// Deletes every object in a bucket, then the bucket.
public func emptyAndDeleteBucket(_ bucket: String, client: S3Client) async throws {
    while true {
        var keys: [String] = []
        for try await object in client.listObjects(bucket: bucket, prefix: "") { keys.append(object.key) }
        if keys.isEmpty { break }
        try await client.deleteObjects(bucket: bucket, keys: keys)
    }
    try await client.deleteBucket(bucket)
}

/// Puts `keys`, each with the bytes `contents(key)`, with `concurrency` requests in flight.
public func putObjects(
    _ keys: [String],
    into store: some ObjectStore,
    concurrency: Int = 16,
    contents: @escaping @Sendable (String) -> Data = { Data($0.utf8) }
) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        var iterator = keys.makeIterator()
        for _ in 0..<concurrency {
            guard let key = iterator.next() else { break }
            group.addTask { try await store.put(key: key, data: contents(key)) }
        }
        while try await group.next() != nil {
            guard let key = iterator.next() else { continue }
            group.addTask { try await store.put(key: key, data: contents(key)) }
        }
    }
}

/// Credentials that sign with exactly these keys, whatever the environment says.
public func fixedCredentials(accessKeyID: String, secretAccessKey: String) -> S3Credentials {
    let credentials = AWSCredentials(accessKeyID: accessKeyID, secretAccessKey: secretAccessKey)
    return .chain(FixedCredentialProvider(credentials: credentials))
}

private struct FixedCredentialProvider: AWSCredentialProvider {
    let credentials: AWSCredentials
    func credentials() async throws -> AWSCredentials? { credentials }
}
