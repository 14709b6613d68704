public import Foundation

/// A response body, streamed as chunks of bytes as they arrive.
///
/// The stream can be read once. While it is not read, at most ``HTTPClient/Configuration/responseBufferSize`` bytes
/// are buffered and the transfer pauses: a slow reader slows the download instead of filling memory. Dropping the
/// body before its end aborts the transfer.
public struct HTTPResponseBody: AsyncSequence, Sendable {
    public typealias Element = Data

    let handle: BodyHandle

    public struct AsyncIterator: AsyncIteratorProtocol {
        let handle: BodyHandle

        public mutating func next() async throws -> Data? {
            try await handle.transfer.nextChunk()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(handle: handle) }

    /// Reads the whole body.
    ///
    /// - Throws: ``HTTPClientError`` with code ``HTTPClientError/Code/bodyTooLarge`` past `maxBytes`, which also
    ///   aborts the transfer.
    public func collect(upTo maxBytes: Int) async throws -> Data {
        var data = Data()
        for try await chunk in self {
            guard data.count + chunk.count <= maxBytes else {
                handle.transfer.cancel()
                throw HTTPClientError(
                    code: .bodyTooLarge, message: "the response body is larger than \(maxBytes) bytes",
                    request: handle.transfer.requestDescription)
            }
            data.append(chunk)
        }
        return data
    }

    /// Aborts the transfer if the body is still arriving.
    public func discard() { handle.transfer.cancel() }
}

/// Keeps the transfer and its client alive while the body is referenced, and aborts the transfer when the last
/// reference goes away before its end.
final class BodyHandle: Sendable {
    let transfer: CurlTransfer
    let client: HTTPClient

    init(transfer: CurlTransfer, client: HTTPClient) {
        self.transfer = transfer
        self.client = client
    }

    deinit { transfer.cancel() }
}
