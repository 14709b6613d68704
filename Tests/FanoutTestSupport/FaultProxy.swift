public import Foundation
import FanoutHTTP

/// Drives `scripts/test-servers/fault_proxy.py`: queue faults for the next proxied requests, read its counters.
///
/// The queue is shared by every client of the proxy, so suites that use it must be `.serialized` and the only ones
/// sending requests through it.
public struct FaultProxy: Sendable {
    /// One fault, taken by the next proxied request.
    public enum Fault: Sendable, Hashable {
        /// An S3-style XML error with this status and code; `Retry-After` when `retryAfter` is given.
        case status(Int, code: String? = nil, retryAfter: Int? = nil)
        /// Close the connection without answering; with `afterUpstream`, after the upstream applied the request.
        case drop(afterUpstream: Bool = false)
        /// Send the upstream's status and headers and the first `afterBytes` bytes of its body, then nothing for
        /// `seconds`, then close.
        case stall(seconds: Double, afterBytes: Int = 0)
        /// Send nothing for `seconds`, then close.
        case stallBeforeHeaders(seconds: Double)
        /// Reset the connection (TCP RST) without answering.
        case reset
        /// `fault` for every proxied request until `seconds` have passed since the first one took it: an outage
        /// of that length. A negative `seconds` keeps it until ``FaultProxy/reset()``.
        indirect case lasting(Fault, seconds: Double)

        var json: [String: Any] {
            switch self {
            case .status(let status, let code, let retryAfter):
                var object: [String: Any] = ["kind": "status", "status": status]
                if let code { object["code"] = code }
                if let retryAfter { object["retry_after"] = retryAfter }
                return object
            case .drop(let afterUpstream): return ["kind": "drop", "after_upstream": afterUpstream]
            case .stall(let seconds, let afterBytes):
                return ["kind": "stall", "seconds": seconds, "after_bytes": afterBytes]
            case .stallBeforeHeaders(let seconds): return ["kind": "stall_before_headers", "seconds": seconds]
            case .reset: return ["kind": "reset"]
            case .lasting(let fault, let seconds):
                var object = fault.json
                object["for_seconds"] = seconds < 0 ? -1 : seconds
                return object
            }
        }
    }

    /// The proxy's counters since the last reset.
    public struct Stats: Sendable, Hashable, Decodable {
        /// Requests proxied or faulted (control requests not counted).
        public var requests: Int
        public var faultsServed: Int
        /// Faults queued and not yet taken.
        public var pending: Int
        /// Requests answered `503 SlowDown` by the throttle (see ``FaultProxy/throttle(rate:burst:)``).
        public var throttled: Int

        public init(requests: Int, faultsServed: Int, pending: Int, throttled: Int = 0) {
            self.requests = requests
            self.faultsServed = faultsServed
            self.pending = pending
            self.throttled = throttled
        }

        enum CodingKeys: String, CodingKey {
            case requests, pending, throttled
            case faultsServed = "faults_served"
        }
    }

    /// The proxy's URL; S3 clients use it as their endpoint.
    public let url: URL
    /// The S3 server behind the proxy, for requests that must not go through it. Default: the shared moto.
    public let upstream: URL
    private let http = HTTPClient(configuration: HTTPClient.Configuration(retry: .never))

    public init(url: URL? = nil, upstream: URL? = nil) throws {
        self.url = try url ?? TestEnvironment.faultProxy
        self.upstream = try upstream ?? TestEnvironment.s3Endpoint
    }

    /// Appends faults to the queue.
    public func plan(_ faults: [Fault]) async throws {
        let body = try JSONSerialization.data(withJSONObject: ["faults": faults.map(\.json)])
        _ = try await control(.post, "plan", body: body)
    }

    public func stats() async throws -> Stats {
        try JSONDecoder().decode(Stats.self, from: try await control(.get, "stats"))
    }

    /// Answers `503 SlowDown` to proxied requests above `rate` a second, per prefix (the object's folder), as S3
    /// does: a token bucket per prefix that holds `burst` (default: one second's worth). `nil` stops throttling.
    public func throttle(rate: Double?, burst: Double? = nil) async throws {
        var settings: [String: Any] = ["rate": rate.map { $0 as Any } ?? NSNull()]
        if let burst { settings["burst"] = burst }
        _ = try await control(.post, "throttle", body: try JSONSerialization.data(withJSONObject: settings))
    }

    /// Empties the queue, stops throttling and zeroes the counters.
    public func reset() async throws {
        _ = try await control(.post, "reset")
    }

    private func control(_ method: HTTPMethod, _ name: String, body: Data? = nil) async throws -> Data {
        let request = HTTPRequest(
            method: method, url: url.appendingPathComponent("__fault/\(name)"),
            headers: body == nil ? [:] : ["Content-Type": "application/json"], body: body.map { .bytes($0) } ?? .empty)
        let response = try await http.send(request, timeout: .seconds(10))
        guard response.isSuccess else {
            throw FaultProxyError(message: "fault proxy \(name): HTTP \(response.status): \(response.bodyText)")
        }
        return response.body
    }
}

/// The fault proxy refused a control request.
public struct FaultProxyError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
