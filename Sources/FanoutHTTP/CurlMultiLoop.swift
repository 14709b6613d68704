import CCurl
import Foundation
import Synchronization

/// A dedicated thread that drives libcurl's multi interface for one ``HTTPClient``.
///
/// Other threads never touch curl handles: they queue commands and wake the thread with `curl_multi_wakeup`.
/// The thread runs the commands, lets curl make progress, hands finished transfers back, and sleeps in
/// `curl_multi_poll` until a socket is ready, a timer is due, or it is woken.
final class CurlMultiLoop: @unchecked Sendable {
    private enum Command {
        case add(CurlTransfer)
        case resume(CurlTransfer)
        case cancel(CurlTransfer)
        case shutdown
    }

    private let multi: UnsafeMutableRawPointer
    private let commands = Mutex<[Command]>([])
    /// curl thread: transfers added to the multi handle, by easy handle.
    private var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]

    init(maxConnectionsPerHost: Int) {
        CurlGlobal.ensureInitialized()
        multi = curl_multi_init()
        _ = fanout_multi_setopt_long(multi, CURLMOPT_PIPELINING, Int(CURLPIPE_MULTIPLEX))
        _ = fanout_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, maxConnectionsPerHost)
        let thread = Thread { [self] in run() }
        thread.name = "fanout-curl"
        thread.start()
    }

    /// The multi handle outlives the thread: a transfer or upload task that still holds the loop may wake it after
    /// shutdown, which must not touch freed memory.
    deinit {
        curl_multi_cleanup(multi)
    }

    func add(_ transfer: CurlTransfer) { submit(.add(transfer)) }

    func resume(_ transfer: CurlTransfer) { submit(.resume(transfer)) }

    func cancel(_ transfer: CurlTransfer) { submit(.cancel(transfer)) }

    /// Cancels every transfer and ends the thread.
    func shutdown() { submit(.shutdown) }

    private func submit(_ command: Command) {
        commands.withLock { $0.append(command) }
        curl_multi_wakeup(multi)
    }

    private func run() {
        var stopping = false
        while !stopping {
            let batch = commands.withLock { queue in
                defer { queue.removeAll(keepingCapacity: true) }
                return queue
            }
            for command in batch {
                switch command {
                case .add(let transfer): start(transfer)
                case .resume(let transfer):
                    if active[transfer.easy] != nil { curl_easy_pause(transfer.easy, 0) }
                case .cancel(let transfer): finish(transfer, code: nil)
                case .shutdown: stopping = true
                }
            }
            if stopping { break }

            var running: Int32 = 0
            curl_multi_perform(multi, &running)
            var remaining: Int32 = 0
            while let message = curl_multi_info_read(multi, &remaining) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle,
                    let transfer = active[easy]
                else { continue }
                finish(transfer, code: message.pointee.data.result)
            }
            curl_multi_poll(multi, nil, 0, 1000, nil)
        }
        for transfer in Array(active.values) { finish(transfer, code: nil) }
    }

    private func start(_ transfer: CurlTransfer) {
        if transfer.isCancelRequested {
            transfer.finish(curlCode: nil)
            return
        }
        let code = curl_multi_add_handle(multi, transfer.easy)
        guard code == CURLM_OK else {
            transfer.finish(curlCode: CURLE_FAILED_INIT)
            return
        }
        active[transfer.easy] = transfer
        transfer.didStart()
    }

    private func finish(_ transfer: CurlTransfer, code: CURLcode?) {
        guard active.removeValue(forKey: transfer.easy) != nil else { return }
        curl_multi_remove_handle(multi, transfer.easy)
        transfer.finish(curlCode: code)
    }
}

/// libcurl's process-wide initialisation, done once before the first handle.
enum CurlGlobal {
    private static let initialized: Bool = curl_global_init(3) == CURLE_OK

    static func ensureInitialized() { precondition(initialized, "libcurl failed to initialise") }

    /// Whether this libcurl can reuse a connection opened with HTTP/2 prior knowledge over cleartext (8.0 and later).
    static let reusesPriorKnowledgeConnections: Bool = {
        // `version_num` is in every revision of the struct, so the oldest suffices.
        guard let info = curl_version_info(CURLVERSION_FIRST) else { return false }
        return info.pointee.version_num >= 0x08_00_00
    }()
}
