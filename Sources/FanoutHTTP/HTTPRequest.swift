public import Foundation

/// A request to send with ``HTTPClient``.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    public var url: URL
    public var headers: HTTPHeaders
    public var body: HTTPRequestBody

    public init(method: HTTPMethod = .get, url: URL, headers: HTTPHeaders = [:], body: HTTPRequestBody = .empty) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// The body of an ``HTTPRequest``.
///
/// Bytes and files can be sent again, so requests with them are retried by the ``RetryPolicy``; a stream is
/// consumed once, so a request with a stream body is attempted once.
public struct HTTPRequestBody: Sendable {
    enum Storage: Sendable {
        case empty
        case bytes(Data)
        case file(path: String, length: Int64)
        case stream(length: Int64?, makeChunks: @Sendable () -> AsyncThrowingStream<Data, any Error>)
    }

    let storage: Storage

    public static let empty = HTTPRequestBody(storage: .empty)

    public static func bytes(_ data: Data) -> HTTPRequestBody { HTTPRequestBody(storage: .bytes(data)) }

    public static func bytes(_ string: String) -> HTTPRequestBody { .bytes(Data(string.utf8)) }

    /// The contents of a local file, read as the upload proceeds.
    public static func file(path: String) throws -> HTTPRequestBody {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let length = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        return HTTPRequestBody(storage: .file(path: path, length: length))
    }

    /// Chunks produced while the request is sent; `length` is sent as `Content-Length` when known, otherwise the
    /// body is sent chunked. The producer is pulled as the connection drains, so it is never ahead by more than a chunk.
    public static func stream(
        length: Int64?,
        _ makeChunks: @escaping @Sendable () -> AsyncThrowingStream<Data, any Error>
    ) -> HTTPRequestBody {
        HTTPRequestBody(storage: .stream(length: length, makeChunks: makeChunks))
    }

    /// The number of bytes, when known before sending.
    public var length: Int64? {
        switch storage {
        case .empty: 0
        case .bytes(let data): Int64(data.count)
        case .file(_, let length): length
        case .stream(let length, _): length
        }
    }

    /// Whether the body can be sent again on a retry.
    public var isReplayable: Bool {
        if case .stream = storage { return false }
        return true
    }

    var isEmpty: Bool {
        if case .empty = storage { return true }
        return false
    }
}
