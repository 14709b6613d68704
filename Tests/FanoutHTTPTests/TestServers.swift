import Foundation
import Testing

/// Where the loopback test servers started by `scripts/test-servers/start` listen, read from the environment.
///
/// A missing variable is an error, so a test run without the servers fails loudly instead of skipping.
enum TestServers {
    struct NotRunning: Error, CustomStringConvertible {
        let variable: String

        var description: String {
            "\(variable) is not set: the test servers are not running. Run scripts/test, or scripts/test-servers/start "
                + "and `source .test-servers/env` before `swift test`."
        }
    }

    static func environment(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw NotRunning(variable: name)
        }
        return value
    }

    /// A URL on the plain listener (HTTP/1.1, and h2c with prior knowledge).
    static func http(_ pathAndQuery: String) throws -> URL {
        try url(environment("FANOUT_TEST_HTTP"), pathAndQuery)
    }

    /// A URL on the TLS listener (HTTP/2 by ALPN), whose certificate is signed by the test CA.
    static func https(_ pathAndQuery: String) throws -> URL {
        try url(environment("FANOUT_TEST_HTTPS"), pathAndQuery)
    }

    /// A URL on the TLS listener that requires a client certificate signed by the test CA.
    static func mtls(_ pathAndQuery: String) throws -> URL {
        try url(environment("FANOUT_TEST_HTTPS_MTLS"), pathAndQuery)
    }

    /// A file of the test PKI: `ca.pem`, `client.pem`, `client-key.pem`.
    static func tlsFile(_ name: String) throws -> Data {
        let directory = try environment("FANOUT_TEST_TLS_DIR")
        return try Data(contentsOf: URL(fileURLWithPath: directory).appendingPathComponent(name))
    }

    private static func url(_ base: String, _ pathAndQuery: String) throws -> URL {
        let text = base.hasSuffix("/") ? String(base.dropLast()) + pathAndQuery : base + pathAndQuery
        return try #require(URL(string: text), "not a URL: \(text)")
    }

    /// A loopback port with nothing listening on it: bound, then closed.
    static func closedPort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(descriptor, generic, length) == 0 && getsockname(descriptor, generic, &length) == 0
            }
        }
        try #require(bound)
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// What the test server's `/echo` endpoint saw.
struct Echo: Decodable, Sendable {
    let method: String
    let path: String
    let query: String
    /// Lowercased names; repeated fields joined with ", ".
    let headers: [String: String]
    let bodyLength: Int
    let bodySHA256: String
    /// "1.1" or "2".
    let httpVersion: String
    let scheme: String
    /// The client's address and port, which names the connection.
    let client: String

    enum CodingKeys: String, CodingKey {
        case method, path, query, headers, scheme, client
        case bodyLength = "body_length"
        case bodySHA256 = "body_sha256"
        case httpVersion = "http_version"
    }

    init(_ body: Data) throws {
        self = try JSONDecoder().decode(Echo.self, from: body)
    }
}

/// The bytes the server's `/bytes/N` endpoint sends: byte i is i % 251.
enum BytePattern {
    static func byte(at offset: Int) -> UInt8 { UInt8(offset % 251) }

    /// The offset of the first byte of `chunk` that breaks the pattern, when the chunk starts at `offset`.
    static func firstMismatch(in chunk: Data, startingAt offset: Int) -> Int? {
        var expected = offset % 251
        var index = offset
        for byte in chunk {
            if byte != UInt8(expected) { return index }
            expected = expected == 250 ? 0 : expected + 1
            index += 1
        }
        return nil
    }
}

/// Deterministic bytes for request bodies (xorshift64*), so a failure can be reproduced.
func testBytes(count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> Data {
    var state = seed | 1
    var bytes = [UInt8]()
    bytes.reserveCapacity(count + 8)
    while bytes.count < count {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        var word = state &* 0x2545_F491_4F6C_DD1D
        for _ in 0..<8 {
            bytes.append(UInt8(truncatingIfNeeded: word))
            word >>= 8
        }
    }
    let data = Data(bytes.prefix(count))
    return data
}
