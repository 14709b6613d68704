import CCurl
import Foundation
import Synchronization

/// Feeds a request body to libcurl's read callback.
///
/// Bytes and files are read directly on the curl thread. A stream is pulled by a task one chunk at a time; when
/// curl asks for data the task has not produced yet, the transfer pauses until it has.
final class UploadSource: @unchecked Sendable {
    private enum Kind {
        case bytes(Data)
        case file(FileHandle)
        case stream(@Sendable () -> AsyncThrowingStream<Data, any Error>)
    }

    private struct StreamState {
        var pending: Data?
        var offset = 0
        var finished = false
        var paused = false
        var failure: (any Error)?
        var demand: CheckedContinuation<Void, Never>?
    }

    let length: Int64?
    private let kind: Kind
    /// curl thread: position in `bytes`.
    private var offset = 0
    private let stream = Mutex(StreamState())
    private let feeder = Mutex<Task<Void, Never>?>(nil)

    init?(body: HTTPRequestBody) throws {
        switch body.storage {
        case .empty:
            return nil
        case .bytes(let data):
            kind = .bytes(data)
            length = Int64(data.count)
        case .file(let path, let fileLength):
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw HTTPClientError(code: .invalidRequest, message: "cannot read the body file \(path)")
            }
            kind = .file(handle)
            length = fileLength
        case .stream(let streamLength, let makeChunks):
            kind = .stream(makeChunks)
            length = streamLength
        }
    }

    deinit {
        if case .file(let handle) = kind { try? handle.close() }
    }

    /// The error of a stream that failed, if it did.
    var failure: (any Error)? { stream.withLock { $0.failure } }

    /// Starts pulling a stream; `resume` unpauses the transfer when a chunk arrives.
    func start(resume: @escaping @Sendable () -> Void) {
        guard case .stream(let makeChunks) = kind else { return }
        let task = Task { [self] in
            do {
                for try await chunk in makeChunks() where !chunk.isEmpty {
                    await waitForDemand()
                    offer(chunk, finished: false, failure: nil, resume: resume)
                }
                await waitForDemand()
                offer(nil, finished: true, failure: nil, resume: resume)
            } catch {
                offer(nil, finished: true, failure: error, resume: resume)
            }
        }
        feeder.withLock { $0 = task }
    }

    func stop() {
        feeder.withLock { $0 }?.cancel()
        let demand = stream.withLock { state in
            defer { state.demand = nil }
            return state.demand
        }
        demand?.resume()
    }

    /// curl thread: fills `buffer`, returning the count, 0 at the end, or one of curl's pause or abort codes.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        switch kind {
        case .bytes(let data):
            let count = min(buffer.count, data.count - offset)
            guard count > 0 else { return 0 }
            data.withUnsafeBytes { source in
                buffer.baseAddress!.copyMemory(from: source.baseAddress! + offset, byteCount: count)
            }
            offset += count
            return count
        case .file(let handle):
            let data = (try? handle.read(upToCount: buffer.count)) ?? nil
            guard let data, !data.isEmpty else { return 0 }
            data.copyBytes(to: buffer.bindMemory(to: UInt8.self), count: data.count)
            return data.count
        case .stream:
            return readStream(into: buffer)
        }
    }

    private func readStream(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        enum Result { case copied(Int, CheckedContinuation<Void, Never>?), end, abort, pause }
        let result: Result = stream.withLock { state in
            if let pending = state.pending {
                let count = min(buffer.count, pending.count - state.offset)
                pending.withUnsafeBytes { source in
                    buffer.baseAddress!.copyMemory(from: source.baseAddress! + state.offset, byteCount: count)
                }
                state.offset += count
                var demand: CheckedContinuation<Void, Never>?
                if state.offset >= pending.count {
                    state.pending = nil
                    state.offset = 0
                    demand = state.demand
                    state.demand = nil
                }
                return .copied(count, demand)
            }
            if state.failure != nil { return .abort }
            if state.finished { return .end }
            state.paused = true
            return .pause
        }
        switch result {
        case .copied(let count, let demand):
            demand?.resume()
            return count
        case .end: return 0
        case .abort: return Int(CURL_READFUNC_ABORT)
        case .pause: return Int(CURL_READFUNC_PAUSE)
        }
    }

    private func waitForDemand() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = stream.withLock { state in
                if state.pending == nil || Task.isCancelled { return true }
                state.demand = continuation
                return false
            }
            if ready { continuation.resume() }
        }
    }

    private func offer(_ chunk: Data?, finished: Bool, failure: (any Error)?, resume: @Sendable () -> Void) {
        let wasPaused = stream.withLock { state in
            if let chunk {
                state.pending = chunk
                state.offset = 0
            }
            state.finished = state.finished || finished
            if let failure { state.failure = failure }
            defer { state.paused = false }
            return state.paused
        }
        if wasPaused { resume() }
    }
}
