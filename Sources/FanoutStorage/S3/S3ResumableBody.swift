import FanoutHTTP
import Logging
import Foundation

/// The body of a GetObject that picks up where it broke off: when the transfer stalls or the connection resets
/// after the headers arrived, the rest is asked for again (`Range` from the first byte not yet delivered,
/// `If-Match` with the object's ETag, so the pieces are of one version), following the HTTP client's
/// ``RetryPolicy``: its backoff between tries, at most ``RetryPolicy/maxAttempts`` tries in a row that deliver
/// nothing, none once ``RetryPolicy/budget`` has passed without a byte.
struct S3ResumableBody: AsyncSequence, Sendable {
    typealias Element = Data

    let client: S3Client
    let bucket: String
    let key: String
    /// The range first asked for; `nil` for the whole object.
    let range: ClosedRange<Int64>?
    /// The ETag of the first response, quoted as sent.
    let etag: String?
    let first: HTTPResponseBody

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(body: self, current: first.makeAsyncIterator())
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let body: S3ResumableBody
        var current: HTTPResponseBody.AsyncIterator
        var delivered: Int64 = 0
        var failuresInARow = 0
        var lastProgress: Duration?

        mutating func next() async throws -> Data? {
            let policy = body.client.http.configuration.retry
            while true {
                do {
                    let chunk = try await current.next()
                    if let chunk {
                        delivered += Int64(chunk.count)
                        failuresInARow = 0
                        lastProgress = policy.clock.now()
                    }
                    return chunk
                } catch let error as HTTPClientError where error.isTransient && body.etag != nil {
                    failuresInARow += 1
                    let since = policy.clock.now() - (lastProgress ?? policy.clock.now())
                    let delay = policy.delay(afterAttempt: failuresInARow, retryAfter: nil)
                    guard failuresInARow < policy.maxAttempts, since + delay < policy.budget else {
                        throw ObjectStoreError(
                            code: .transport, message: "reading the object broke off after \(delivered) bytes",
                            bucket: body.bucket, key: body.key, underlying: error)
                    }
                    body.client.logger.debug(
                        "resuming a broken object read",
                        metadata: ["key": "\(body.key)", "delivered": "\(delivered)", "error": "\(error.message)"])
                    if lastProgress == nil { lastProgress = policy.clock.now() }
                    try await policy.clock.sleep(delay)
                    current = try await resume().makeAsyncIterator()
                }
            }
        }

        /// Asks for the bytes not delivered yet, of the same version of the object.
        private func resume() async throws -> HTTPResponseBody {
            let start = (body.range?.lowerBound ?? 0) + delivered
            var headers: HTTPHeaders = ["Range": "bytes=\(start)-\(body.range.map { String($0.upperBound) } ?? "")"]
            if let etag = body.etag { headers.add(name: "If-Match", value: etag) }
            let response = try await body.client.execute(
                .get, url: body.client.url(bucket: body.bucket, key: body.key), headers: headers)
            guard response.status == 206 else {
                let data = (try? await response.body.collect(upTo: 1 << 20)) ?? Data()
                var error = S3ErrorResponse.error(
                    status: response.status, headers: response.headers, body: data, bucket: body.bucket,
                    key: body.key, configuredRegion: body.client.configuration.region)
                if response.status == 412 {
                    error.message = "the object changed while it was read; run again to read the new version"
                } else if response.isSuccess {
                    error.message = "the server ignored the Range of a resumed read (status \(response.status))"
                }
                throw error
            }
            return response.body
        }
    }
}
