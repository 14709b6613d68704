import FanoutHTTP
import FanoutKubernetes
import FanoutTestSupport
import Foundation
import Testing

/// Every Kubernetes test runs one at a time: they share one API test server, whose request counts and faults
/// are global.
@Suite(.serialized) enum KubernetesTests {}

/// The Kubernetes API test server (scripts/kube-test-server), found through the variables
/// `scripts/test-servers/start` exports, and its unauthenticated control API.
enum KubeTestServer {
    static var kubeconfig: String {
        get throws { try TestEnvironment.value("FANOUT_TEST_KUBECONFIG") }
    }

    /// The HTTPS API URL.
    static var api: URL {
        get throws { URL(string: try TestEnvironment.value("FANOUT_TEST_KUBE_API"))! }
    }

    static var tlsDirectory: String {
        get throws { try TestEnvironment.value("FANOUT_TEST_KUBE_TLS_DIR") }
    }

    static var control: URL {
        get throws { URL(string: try TestEnvironment.value("FANOUT_TEST_KUBE_CONTROL"))! }
    }

    /// A client for the server's kubeconfig (context `token` unless told), in `namespace`.
    static func client(context: String? = nil, namespace: String? = nil) throws -> KubernetesClient {
        KubernetesClient(
            configuration: try KubernetesConfiguration.resolve(
                kubeconfig: [kubeconfig], context: context, namespace: namespace))
    }

    /// Runs `body` in a new namespace of its own, with `labels`, deleted afterwards.
    static func withNamespace<T>(
        labels: [String: String] = [:],
        isolation: isolated (any Actor)? = #isolation,
        _ body: (String, KubernetesClient) async throws -> T
    ) async throws -> T {
        let name = "t-" + UUID().uuidString.lowercased().prefix(8)
        let client = try client(namespace: name)
        var namespace = Namespace(name: name)
        namespace.metadata.labels = labels.isEmpty ? nil : labels
        _ = try await client.create(namespace)
        try await post("reset")
        defer { Task { [client] in try? await client.delete(Namespace.self, name: name) } }
        return try await body(name, client)
    }

    /// Sends a control request; the answer's JSON.
    @discardableResult
    static func post(_ path: String, _ body: JSONValue = [:], control: URL? = nil) async throws -> Data {
        let url = try (control ?? self.control).appendingPathComponent(path)
        let request = HTTPRequest(
            method: .post, url: url, headers: ["Content-Type": "application/json"],
            body: .bytes(try JSONEncoder().encode(body)))
        let response = try await HTTPClient.shared.send(request)
        #expect(response.status == 200, "control \(path): \(response.bodyText)")
        return response.body
    }

    /// Requests the server has counted since the last reset, by `verb resource`.
    static func requests(control: URL? = nil) async throws -> [String: Int] {
        let response = try await HTTPClient.shared.send(
            HTTPRequest(url: try (control ?? self.control).appendingPathComponent("requests")))
        return try JSONDecoder().decode([String: Int].self, from: response.body)
    }

    static func resetRequests() async throws { try await post("requests/reset") }

    /// Answers the next `count` matching requests with `status` (and `message`, when given).
    static func fault(
        status: Int, count: Int = 1, verb: String? = nil, resource: String? = nil, retryAfter: Int? = nil,
        message: String? = nil
    ) async throws {
        var body: [String: JSONValue] = ["status": .integer(Int64(status)), "count": .integer(Int64(count))]
        if let verb { body["verb"] = .string(verb) }
        if let resource { body["resource"] = .string(resource) }
        if let retryAfter { body["retryAfter"] = .integer(Int64(retryAfter)) }
        if let message { body["message"] = .string(message) }
        try await post("faults", .object(body))
    }

    static func dropWatches(abrupt: Bool = false) async throws {
        try await post("watches/drop", ["abrupt": .bool(abrupt)])
    }

    /// Every resourceVersion handed out so far becomes too old.
    static func expire() async throws { try await post("expire") }

    static func holdScheduling(_ hold: Bool) async throws { try await post("scheduling", ["hold": .bool(hold)]) }

    /// The node fits `capacity` unfinished pods at once: the pods beyond them stay Pending (Unschedulable) until
    /// one on the node ends. `holdScheduling(false)` lifts the limit.
    static func limitScheduling(capacity: Int) async throws {
        try await post("scheduling", ["hold": true, "capacity": .integer(Int64(capacity))])
    }

    /// The Job controller's pods are refused (as by a ResourceQuota requiring limits) until `refuse` is false:
    /// Jobs get no pods and no condition, only FailedCreate events.
    static func refusePods(_ refuse: Bool) async throws { try await post("pod-creation", ["refuse": .bool(refuse)]) }

    static func kill(pod: String, namespace: String) async throws {
        try await post("pods/\(namespace)/\(pod)/kill", ["container": "worker"])
    }

    static func disrupt(pod: String, namespace: String, mode: String = "evict") async throws {
        try await post("pods/\(namespace)/\(pod)/disrupt", ["mode": .string(mode)])
    }
}

/// Waits for `condition` to hold, checking every 50 ms, for at most `timeout`.
func eventually(
    _ timeout: Duration = .seconds(30), _ what: String, _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    Issue.record("timed out waiting for \(what)")
    throw CancellationError()
}
