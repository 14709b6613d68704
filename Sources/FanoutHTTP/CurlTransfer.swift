import CCurl
import Foundation
import Synchronization

/// One request on libcurl: its easy handle, and the state shared between the curl thread and the awaiting tasks.
///
/// Fields marked "curl thread" are touched only by ``CurlMultiLoop``'s thread; everything else is behind `state`.
final class CurlTransfer: @unchecked Sendable {
    struct Head: Sendable {
        let status: Int
        let headers: HTTPHeaders
    }

    private enum HeadPhase {
        case waiting(CheckedContinuation<Head, any Error>?)
        case delivered
    }

    private struct State {
        var head: HeadPhase = .waiting(nil)
        var chunks: [Data] = []
        var bufferedBytes = 0
        /// Body bytes taken from curl, delivered or buffered.
        var receivedBytes = 0
        var receivePaused = false
        var consumer: CheckedContinuation<Data?, any Error>?
        var outcome: Result<Void, HTTPClientError>?
        var cancelRequested = false
    }

    /// The most body bytes curl hands over in one write callback (`CURLOPT_BUFFERSIZE`), so at most this many
    /// bytes past ``HTTPClient/Configuration/responseBufferSize`` are buffered.
    static let receiveChunkSize = 256 * 1024

    let easy: UnsafeMutableRawPointer
    let requestDescription: String
    private let loop: CurlMultiLoop
    private let state = Mutex(State())
    private let bufferLimit: Int
    private let upload: UploadSource?
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private var headerList: UnsafeMutablePointer<curl_slist>?
    /// The `CURLOPT_CONNECT_TO` entry of a ``TLSConfiguration/serverName``, kept for the handle's lifetime.
    private var connectToList: UnsafeMutablePointer<curl_slist>?
    /// curl thread: header fields of the response block being received.
    private var pendingHeaders = HTTPHeaders()

    init(
        request: HTTPRequest,
        timeout: Duration?,
        configuration: HTTPClient.Configuration,
        loop: CurlMultiLoop
    ) throws {
        // Everything that can fail before the handle exists comes first, so a failure leaks nothing.
        self.upload = try UploadSource(body: request.body)
        guard let easy = curl_easy_init() else {
            throw HTTPClientError(code: .transport, message: "libcurl could not create a transfer")
        }
        self.easy = easy
        self.loop = loop
        self.bufferLimit = max(configuration.responseBufferSize, 16 * 1024)
        self.requestDescription = "\(request.method) \(request.url.redactedForLogs)"
        self.errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(to: 0)
        try configure(request: request, timeout: timeout, configuration: configuration)
    }

    deinit {
        curl_easy_cleanup(easy)
        curl_slist_free_all(headerList)
        curl_slist_free_all(connectToList)
        errorBuffer.deallocate()
    }

    // MARK: Awaiting side

    /// Waits for the status line and headers of the final response.
    func head(start: @Sendable () -> Void) async throws -> Head {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Head, any Error>) in
                state.withLock { $0.head = .waiting(continuation) }
                start()
            }
        } onCancel: {
            cancel()
        }
    }

    /// The next chunk of the response body, or `nil` at its end.
    func nextChunk() async throws -> Data? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Data?, any Error>) in
                enum Action { case chunk(Data, resume: Bool), finished(Result<Void, HTTPClientError>), wait(resume: Bool) }
                let action: Action = state.withLock { state in
                    if !state.chunks.isEmpty {
                        let chunk = state.chunks.removeFirst()
                        state.bufferedBytes -= chunk.count
                        let resume = state.receivePaused && state.bufferedBytes <= bufferLimit / 2
                        if resume { state.receivePaused = false }
                        return .chunk(chunk, resume: resume)
                    }
                    if let outcome = state.outcome { return .finished(outcome) }
                    state.consumer = continuation
                    let resume = state.receivePaused
                    state.receivePaused = false
                    return .wait(resume: resume)
                }
                switch action {
                case .chunk(let chunk, let resume):
                    if resume { loop.resume(self) }
                    continuation.resume(returning: chunk)
                case .finished(.success):
                    continuation.resume(returning: nil)
                case .finished(.failure(let error)):
                    continuation.resume(throwing: error)
                case .wait(let resume):
                    if resume { loop.resume(self) }
                }
            }
        } onCancel: {
            cancel()
        }
    }

    /// Aborts the transfer unless it has already finished.
    func cancel() {
        let alreadyDone = state.withLock { state in
            state.cancelRequested = true
            return state.outcome != nil
        }
        if !alreadyDone { loop.cancel(self) }
    }

    var isCancelRequested: Bool { state.withLock { $0.cancelRequested } }

    // MARK: Observing, for tests

    /// Body bytes received and not yet read.
    var bufferedByteCount: Int { state.withLock { $0.bufferedBytes } }

    /// Body bytes taken from curl so far, read or not.
    var receivedByteCount: Int { state.withLock { $0.receivedBytes } }

    /// How the transfer ended, or `nil` while it runs.
    var outcome: Result<Void, HTTPClientError>? { state.withLock { $0.outcome } }

    // MARK: curl thread

    /// Called by the loop when the transfer has been added to the multi handle.
    func didStart() {
        upload?.start { [loop] in loop.resume(self) }
    }

    /// Called by the loop once, when curl is done with the transfer or it was cancelled.
    func finish(curlCode: CURLcode?) {
        let outcome: Result<Void, HTTPClientError>
        if let curlCode, curlCode == CURLE_OK {
            deliverHeadIfWaiting()
            outcome = .success(())
        } else if let curlCode {
            outcome = .failure(error(for: curlCode))
        } else {
            outcome = .failure(HTTPClientError(code: .cancelled, message: "cancelled", request: requestDescription))
        }
        upload?.stop()
        let (head, consumer) = state.withLock { state in
            state.outcome = outcome
            var head: CheckedContinuation<Head, any Error>?
            if case .waiting(let continuation) = state.head {
                head = continuation
                state.head = .delivered
            }
            var consumer: CheckedContinuation<Data?, any Error>?
            if state.chunks.isEmpty {
                consumer = state.consumer
                state.consumer = nil
            }
            return (head, consumer)
        }
        if let head {
            switch outcome {
            case .success:
                head.resume(throwing: HTTPClientError(
                    code: .transport, message: "the server sent no response", request: requestDescription))
            case .failure(let error):
                head.resume(throwing: error)
            }
        }
        if let consumer {
            consumer.resume(with: outcome.map { nil })
        }
    }

    fileprivate func receiveHeaderLine(_ line: UnsafeRawBufferPointer) {
        switch HTTPHeaderLine(line) {
        case .status:
            pendingHeaders = HTTPHeaders()
        case .end:
            if (100..<200).contains(responseCode) { return }
            deliverHeadIfWaiting()
        case .field(let name, let value):
            pendingHeaders.add(name: name, value: value)
        case .ignored:
            break
        }
    }

    fileprivate func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Int {
        deliverHeadIfWaiting()
        enum Action { case deliver(CheckedContinuation<Data?, any Error>, Data), stored, pause }
        let action: Action = state.withLock { state in
            if let consumer = state.consumer {
                state.consumer = nil
                state.receivedBytes += bytes.count
                return .deliver(consumer, Data(bytes))
            }
            if state.bufferedBytes >= bufferLimit {
                state.receivePaused = true
                return .pause
            }
            state.chunks.append(Data(bytes))
            state.bufferedBytes += bytes.count
            state.receivedBytes += bytes.count
            return .stored
        }
        switch action {
        case .deliver(let consumer, let data):
            consumer.resume(returning: data)
            return bytes.count
        case .stored:
            return bytes.count
        case .pause:
            return Int(CURL_WRITEFUNC_PAUSE)
        }
    }

    fileprivate func sendBody(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard let upload else { return 0 }
        return upload.read(into: buffer)
    }

    private var responseCode: Int {
        var code = 0
        _ = fanout_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &code)
        return code
    }

    private func deliverHeadIfWaiting() {
        let continuation: CheckedContinuation<Head, any Error>? = state.withLock { state in
            guard case .waiting(let continuation) = state.head else { return nil }
            state.head = .delivered
            return continuation
        }
        continuation?.resume(returning: Head(status: responseCode, headers: pendingHeaders))
    }

    private func error(for code: CURLcode) -> HTTPClientError {
        let detail = String(cString: errorBuffer)
        let text = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        if code == CURLE_ABORTED_BY_CALLBACK, let uploadError = upload?.failure {
            return HTTPClientError(
                code: .invalidRequest, message: "the request body failed: \(uploadError)",
                request: requestDescription)
        }
        let kind: HTTPClientError.Code
        switch code {
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            kind = .connectionFailed
        case CURLE_OPERATION_TIMEDOUT:
            kind = .timedOut
        case CURLE_SEND_ERROR, CURLE_RECV_ERROR:
            // A TLS alert after the handshake, as a TLS 1.3 server sends when it rejects the client certificate,
            // arrives as a failed read or write; retrying cannot help.
            kind = detail.contains(" alert ") ? .tls : .connectionLost
        case CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_HTTP2, CURLE_HTTP2_STREAM:
            kind = .connectionLost
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CACERT_BADFILE,
            CURLE_SSL_CIPHER, CURLE_SSL_CLIENTCERT, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_CRL_BADFILE,
            CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_ENGINE_NOTFOUND,
            CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ENGINE_INITFAILED:
            kind = .tls
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            kind = .invalidRequest
        default:
            kind = .transport
        }
        return HTTPClientError(
            code: kind, message: text, request: requestDescription, curlCode: Int(code.rawValue))
    }
}

// MARK: - Configuring the easy handle

extension CurlTransfer {
    private func configure(request: HTTPRequest, timeout: Duration?, configuration: HTTPClient.Configuration) throws {
        let context = Unmanaged.passUnretained(self).toOpaque()
        if let route = ServerNameRoute(url: request.url, serverName: configuration.tls.serverName) {
            try set(CURLOPT_URL, route.url)
            connectToList = curl_slist_append(nil, route.connectTo)
            try check(fanout_easy_setopt_slist(easy, CURLOPT_CONNECT_TO, connectToList), CURLOPT_CONNECT_TO)
        } else {
            try set(CURLOPT_URL, request.url.absoluteString)
        }
        // Send the path as given: curl would otherwise squash `./` and `../` segments, which in an S3 key are
        // plain characters, and the request would go to another path than the one signed.
        try set(CURLOPT_PATH_AS_IS, 1)
        try set(CURLOPT_NOSIGNAL, 1)
        try set(CURLOPT_TCP_KEEPALIVE, 1)
        try set(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1)
        try set(CURLOPT_PIPEWAIT, 1)
        try set(CURLOPT_BUFFERSIZE, CurlTransfer.receiveChunkSize)
        try check(fanout_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer), CURLOPT_ERRORBUFFER)

        switch configuration.httpVersion {
        case .automatic: try set(CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS))
        case .http1_1: try set(CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1))
        case .http2PriorKnowledge:
            try set(CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE))
            if request.url.scheme?.lowercased() == "http", !CurlGlobal.reusesPriorKnowledgeConnections {
                // libcurl before 8.0 breaks a reused h2c prior-knowledge connection ("Error in the HTTP2 framing
                // layer", curl issue 10634): give each request a connection of its own.
                try set(CURLOPT_FRESH_CONNECT, 1)
                try set(CURLOPT_FORBID_REUSE, 1)
            }
        }

        try set(CURLOPT_CONNECTTIMEOUT_MS, Int(configuration.connectTimeout.inSeconds * 1000))
        // Rounded up, so curl never gives up before the caller's deadline has passed by its own clock: a timeout
        // that fires even a fraction of a millisecond early would look transient and be retried.
        if let timeout { try set(CURLOPT_TIMEOUT_MS, max(1, Int((timeout.inSeconds * 1000).rounded(.up)))) }
        if let stall = configuration.stallTimeout {
            try set(CURLOPT_LOW_SPEED_LIMIT, 1)
            try set(CURLOPT_LOW_SPEED_TIME, max(1, Int(stall.inSeconds.rounded(.up))))
        }

        try configureTLS(configuration.tls)
        if let proxy = configuration.proxy { try set(CURLOPT_PROXY, proxy) }
        if let noProxy = configuration.noProxy { try set(CURLOPT_NOPROXY, noProxy) }

        let method = request.method
        var headers = request.headers
        if let upload {
            try set(CURLOPT_UPLOAD, 1)
            if let length = upload.length {
                try check(fanout_easy_setopt_off(easy, CURLOPT_INFILESIZE_LARGE, curl_off_t(length)), CURLOPT_INFILESIZE_LARGE)
            }
            if method != .put { try set(CURLOPT_CUSTOMREQUEST, method.rawValue) }
            if !headers.contains("Expect") { headers.add(name: "Expect", value: "") }
            try check(fanout_easy_setopt_data_callback(easy, CURLOPT_READFUNCTION, curlRead), CURLOPT_READFUNCTION)
            try check(fanout_easy_setopt_pointer(easy, CURLOPT_READDATA, context), CURLOPT_READDATA)
        } else if method == .head {
            try set(CURLOPT_NOBODY, 1)
        } else if method == .post || method == .put || method == .patch {
            try set(CURLOPT_CUSTOMREQUEST, method.rawValue)
            try set(CURLOPT_POSTFIELDSIZE, 0)
            try check(fanout_easy_setopt_string(easy, CURLOPT_POSTFIELDS, ""), CURLOPT_POSTFIELDS)
        } else if method != .get {
            try set(CURLOPT_CUSTOMREQUEST, method.rawValue)
        }

        for field in headers {
            // "Name;" sends a header with an empty value; "Name:" would remove curl's own.
            let line: String
            if field.name.caseInsensitiveEquals("Expect") && field.value.isEmpty {
                line = "Expect:"
            } else if field.value.isEmpty {
                line = "\(field.name);"
            } else {
                line = "\(field.name): \(field.value)"
            }
            headerList = curl_slist_append(headerList, line)
        }
        if let headerList {
            try check(fanout_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, headerList), CURLOPT_HTTPHEADER)
        }

        try check(fanout_easy_setopt_data_callback(easy, CURLOPT_WRITEFUNCTION, curlWrite), CURLOPT_WRITEFUNCTION)
        try check(fanout_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, context), CURLOPT_WRITEDATA)
        try check(fanout_easy_setopt_data_callback(easy, CURLOPT_HEADERFUNCTION, curlHeader), CURLOPT_HEADERFUNCTION)
        try check(fanout_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, context), CURLOPT_HEADERDATA)
    }

    private func configureTLS(_ tls: TLSConfiguration) throws {
        if let ca = tls.trustedCAPEM { try setBlob(CURLOPT_CAINFO_BLOB, ca) }
        if let certificate = tls.clientCertificatePEM {
            try set(CURLOPT_SSLCERTTYPE, "PEM")
            try setBlob(CURLOPT_SSLCERT_BLOB, certificate)
        }
        if let key = tls.clientKeyPEM {
            try set(CURLOPT_SSLKEYTYPE, "PEM")
            try setBlob(CURLOPT_SSLKEY_BLOB, key)
        }
        if tls.insecureSkipVerify {
            try set(CURLOPT_SSL_VERIFYPEER, 0)
            try set(CURLOPT_SSL_VERIFYHOST, 0)
        }
    }

    private func set(_ option: CURLoption, _ value: Int) throws {
        try check(fanout_easy_setopt_long(easy, option, value), option)
    }

    private func set(_ option: CURLoption, _ value: String) throws {
        try check(fanout_easy_setopt_string(easy, option, value), option)
    }

    private func setBlob(_ option: CURLoption, _ data: Data) throws {
        var bytes = [UInt8](data)
        let code = bytes.withUnsafeMutableBytes { buffer in
            fanout_easy_setopt_blob(easy, option, buffer.baseAddress, buffer.count)
        }
        try check(code, option)
    }

    private func check(_ code: CURLcode, _ option: CURLoption) throws {
        guard code == CURLE_OK else {
            throw HTTPClientError(
                code: .invalidRequest,
                message: "libcurl rejected option \(option.rawValue): \(String(cString: curl_easy_strerror(code)))",
                request: requestDescription, curlCode: Int(code.rawValue))
        }
    }
}

// MARK: - C callbacks

private func transfer(_ context: UnsafeMutableRawPointer?) -> CurlTransfer {
    Unmanaged<CurlTransfer>.fromOpaque(context!).takeUnretainedValue()
}

private let curlWrite: fanout_data_callback = { buffer, size, count, context in
    transfer(context).receiveBody(UnsafeRawBufferPointer(start: buffer, count: size * count))
}

private let curlHeader: fanout_data_callback = { buffer, size, count, context in
    let bytes = UnsafeRawBufferPointer(start: buffer, count: size * count)
    transfer(context).receiveHeaderLine(bytes)
    return size * count
}

private let curlRead: fanout_data_callback = { buffer, size, count, context in
    transfer(context).sendBody(into: UnsafeMutableRawBufferPointer(start: buffer, count: size * count))
}

extension URL {
    /// The URL without its query string, which may carry signatures.
    var redactedForLogs: String {
        guard var components = URLComponents(url: self, resolvingAgainstBaseURL: false) else { return absoluteString }
        components.query = nil
        return components.string ?? absoluteString
    }
}
