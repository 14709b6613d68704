/// An HTTP request that did not produce a response.
///
/// A response with an error status is not an `HTTPClientError`: it is returned as a response, for the caller to
/// interpret. This error means the transport failed: no connection, a broken connection, a timeout, TLS, or
/// cancellation.
public struct HTTPClientError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. New codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Kind: Hashable, Sendable {
            case connectionFailed, connectionLost, timedOut, tls, cancelled, bodyTooLarge, invalidRequest, transport
        }

        let kind: Kind

        /// The server could not be reached (refused, unresolvable, unreachable).
        public static let connectionFailed = Code(kind: .connectionFailed)
        /// The connection broke while sending or receiving.
        public static let connectionLost = Code(kind: .connectionLost)
        /// A connect, stall or total timeout passed.
        public static let timedOut = Code(kind: .timedOut)
        /// The TLS handshake or certificate verification failed.
        public static let tls = Code(kind: .tls)
        /// The task was cancelled or the body was dropped.
        public static let cancelled = Code(kind: .cancelled)
        /// A collected body was larger than the limit given.
        public static let bodyTooLarge = Code(kind: .bodyTooLarge)
        /// The request could not be expressed (bad URL, unreadable body file).
        public static let invalidRequest = Code(kind: .invalidRequest)
        /// Any other transport failure.
        public static let transport = Code(kind: .transport)

        public var description: String { "\(kind)" }
    }

    public let code: Code
    /// What happened, and what to do about it.
    public let message: String
    /// The request's method and URL, without query string.
    public let request: String
    /// Attempts made before giving up.
    public let attempts: Int
    /// libcurl's error code, when libcurl reported the failure.
    public let curlCode: Int?

    public init(code: Code, message: String, request: String = "", attempts: Int = 1, curlCode: Int? = nil) {
        self.code = code
        self.message = message
        self.request = request
        self.attempts = attempts
        self.curlCode = curlCode
    }

    /// Whether retrying the same request may succeed.
    public var isTransient: Bool {
        code == .connectionFailed || code == .connectionLost || code == .timedOut
    }

    func with(attempts: Int) -> HTTPClientError {
        HTTPClientError(code: code, message: message, request: request, attempts: attempts, curlCode: curlCode)
    }

    public var description: String {
        var text = request.isEmpty ? message : "\(request): \(message)"
        if attempts > 1 { text += " (after \(attempts) attempts)" }
        switch code {
        case .connectionFailed: text += ". Check that the endpoint URL is right and the server is running."
        case .tls: text += ". Check the CA certificate, or the client certificate and key."
        default: break
        }
        return text
    }
}
