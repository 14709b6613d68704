import FanoutHTTP
import Logging
import Foundation

/// The body of an object read that picks up where it broke off: when the transfer stalls or the connection resets
/// after the headers arrived, the rest is asked for again through `resume` (each store asks for the range from the
/// first byte not yet delivered, of the same version of the object), following the HTTP client's ``RetryPolicy``:
/// its backoff between tries, at most ``RetryPolicy/maxAttempts`` tries in a row that deliver nothing, none once
/// ``RetryPolicy/budget`` has passed without a byte.
struct ResumableObjectBody: AsyncSequence, Sendable {
    typealias Element = Data

    let http: HTTPClient
    let logger: Logger
    let bucket: String
    let key: String
    /// The URL scheme of the store, for errors.
    let scheme: String
    /// Whether the read can be resumed: the first response named the object's version.
    let resumable: Bool
    let first: HTTPResponseBody
    /// Asks for the object from the first byte not yet delivered (`delivered` bytes after the range's start).
    let resume: @Sendable (_ delivered: Int64) async throws -> HTTPResponseBody

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(body: self, current: first.makeAsyncIterator())
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let body: ResumableObjectBody
        var current: HTTPResponseBody.AsyncIterator
        var delivered: Int64 = 0
        var failuresInARow = 0
        var lastProgress: Duration?

        mutating func next() async throws -> Data? {
            let policy = body.http.configuration.retry
            while true {
                do {
                    let chunk = try await current.next()
                    if let chunk {
                        delivered += Int64(chunk.count)
                        failuresInARow = 0
                        lastProgress = policy.clock.now()
                    }
                    return chunk
                } catch let error as HTTPClientError where error.isTransient && body.resumable {
                    failuresInARow += 1
                    let since = policy.clock.now() - (lastProgress ?? policy.clock.now())
                    let delay = policy.delay(afterAttempt: failuresInARow, retryAfter: nil)
                    guard failuresInARow < policy.maxAttempts, since + delay < policy.budget else {
                        var failure = ObjectStoreError(
                            code: .transport, message: "reading the object broke off after \(delivered) bytes",
                            bucket: body.bucket, key: body.key, underlying: error)
                        failure.scheme = body.scheme
                        throw failure
                    }
                    body.logger.debug(
                        "resuming a broken object read",
                        metadata: ["key": "\(body.key)", "delivered": "\(delivered)", "error": "\(error.message)"])
                    if lastProgress == nil { lastProgress = policy.clock.now() }
                    try await policy.clock.sleep(delay)
                    current = try await body.resume(delivered).makeAsyncIterator()
                }
            }
        }
    }
}
