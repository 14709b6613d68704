public import Foundation

/// The status and headers of a response, and its body as a stream.
public struct HTTPResponse: Sendable {
    public let status: Int
    public let headers: HTTPHeaders
    /// The body, streamed as it arrives. Read it, or let it go: dropping it aborts the transfer.
    public let body: HTTPResponseBody
    /// How many attempts it took, retries included.
    public let attempts: Int

    public var isSuccess: Bool { (200..<300).contains(status) }
}

/// A response with its body collected.
public struct HTTPFullResponse: Sendable {
    public let status: Int
    public let headers: HTTPHeaders
    public let body: Data
    public let attempts: Int

    public init(status: Int, headers: HTTPHeaders, body: Data, attempts: Int = 1) {
        self.status = status
        self.headers = headers
        self.body = body
        self.attempts = attempts
    }

    public var isSuccess: Bool { (200..<300).contains(status) }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}
