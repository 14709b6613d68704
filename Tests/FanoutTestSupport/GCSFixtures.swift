public import FanoutHTTP
public import FanoutStorage
public import Foundation

/// A Cloud Storage client for the emulator, anonymous as Google's libraries are with `STORAGE_EMULATOR_HOST`, with an
/// HTTP client of its own.
///
/// - Parameters:
///   - endpoint: Default ``TestEnvironment/gcsEmulator``; pass ``TestEnvironment/googleAuth`` (with credentials) to
///     go through the authenticating proxy.
///   - configure: Changes to the configuration (upload sizes, credentials).
/// - Throws: ``TestEnvironmentError`` when the test servers' variables are missing.
public func makeGCSClient(
    endpoint: URL? = nil,
    retry: RetryPolicy = .default,
    stallTimeout: Duration? = .seconds(30),
    configure: (inout GCSConfiguration) -> Void = { _ in }
) throws -> GCSClient {
    var configuration = GCSConfiguration(endpoint: try endpoint ?? TestEnvironment.gcsEmulator)
    configure(&configuration)
    return GCSClient(
        configuration: configuration,
        httpClient: HTTPClient(configuration: .init(stallTimeout: stallTimeout, retry: retry)))
}

/// Creates a uniquely named bucket on the emulator, runs `body` with its name, then deletes its objects and it.
public func withTemporaryGCSBucket<T>(
    isolation: isolated (any Actor)? = #isolation,
    _ body: (String) async throws -> T
) async throws -> T {
    let emulator = try TestEnvironment.gcsEmulator
    let bucket = uniqueBucketName()
    let http = HTTPClient(configuration: .init(retry: .never))
    let created = try await http.send(
        HTTPRequest(
            method: .post, url: emulator.appendingPathComponent("storage/v1/b").appending(queryItems: [
                URLQueryItem(name: "project", value: "test")
            ]), headers: ["Content-Type": "application/json"], body: .bytes("{\"name\":\"\(bucket)\"}")),
        timeout: .seconds(30))
    guard created.isSuccess else {
        throw TestEnvironmentError(
            variable: "FANOUT_TEST_GCS_EMULATOR", detail: "refusing to create a bucket (\(created.status))")
    }
    let result: Result<T, any Error>
    do {
        result = .success(try await body(bucket))
    } catch {
        result = .failure(error)
    }
    do {
        let client = try makeGCSClient()
        let keys = try await client.listObjects(bucket: bucket, prefix: "").collect().map(\.key)
        try await client.deleteObjects(bucket: bucket, keys: keys)
        _ = try await http.send(
            HTTPRequest(method: .delete, url: emulator.appendingPathComponent("storage/v1/b/\(bucket)")),
            timeout: .seconds(30))
    } catch {
        if case .success = result { throw error }
    }
    return try result.get()
}
