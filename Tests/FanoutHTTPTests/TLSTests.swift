import Foundation
import Testing

@testable import FanoutHTTP

/// TLS trust and client certificates, against the test CA's server and a server that requires a client certificate.
@Suite struct TLSTests {
    @Test func trustedCAPEMVerifiesTheServer() async throws {
        let client = HTTPClient(configuration: .init(tls: .init(trustedCAPEM: try TestServers.tlsFile("ca.pem"))))
        let response = try await client.send(HTTPRequest(url: try TestServers.https("/echo")))
        #expect(response.status == 200)
        #expect(try Echo(response.body).scheme == "https")
    }

    @Test func untrustedServerFailsWithTLS() async throws {
        let client = HTTPClient()
        let error = await #expect(throws: HTTPClientError.self) {
            try await client.send(HTTPRequest(url: try TestServers.https("/echo")))
        }
        #expect(error?.code == .tls)
        #expect(error?.attempts == 1, "a certificate failure is not retried")
        #expect(error?.description.contains("Check the CA certificate") == true)
    }

    @Test func malformedCAPEMFailsWithTLS() async throws {
        let client = HTTPClient(configuration: .init(tls: .init(trustedCAPEM: Data("not a certificate".utf8))))
        let error = await #expect(throws: HTTPClientError.self) {
            try await client.send(HTTPRequest(url: try TestServers.https("/echo")))
        }
        #expect(error?.code == .tls)
    }

    @Test func insecureSkipVerifyAcceptsAnyCertificate() async throws {
        let client = HTTPClient(configuration: .init(tls: .init(insecureSkipVerify: true)))
        let response = try await client.send(HTTPRequest(url: try TestServers.https("/bytes/1000")))
        #expect(response.status == 200)
        #expect(response.body.count == 1000)
    }

    @Test func aServerNameIsVerifiedInsteadOfTheURLHost() async throws {
        // The URL names 127.0.0.1; the request is addressed to localhost, which the certificate also names.
        let url = try TestServers.https("/echo")
        let client = HTTPClient(
            configuration: .init(tls: .init(trustedCAPEM: try TestServers.tlsFile("ca.pem"), serverName: "localhost")))
        let response = try await client.send(HTTPRequest(url: url))
        #expect(response.status == 200)
        #expect(try Echo(response.body).headers["host"] == "localhost:\(url.port!)")

        // A name the certificate does not carry is refused, though the address is the same.
        let wrong = HTTPClient(
            configuration: .init(
                tls: .init(trustedCAPEM: try TestServers.tlsFile("ca.pem"), serverName: "elsewhere.fanout.test")))
        let error = await #expect(throws: HTTPClientError.self) { try await wrong.send(HTTPRequest(url: url)) }
        #expect(error?.code == .tls, "got \(String(describing: error))")
    }

    @Test func aServerNameRoutesTheConnectionToTheURLHost() throws {
        let route = try #require(
            ServerNameRoute(url: URL(string: "https://10.0.0.1:6443/api?limit=5")!, serverName: "kubernetes"))
        #expect(route.url == "https://kubernetes:6443/api?limit=5")
        #expect(route.connectTo == "kubernetes:6443:10.0.0.1:6443")
        let defaultPort = try #require(
            ServerNameRoute(url: URL(string: "https://[fd00::1]/version")!, serverName: "api.internal"))
        #expect(defaultPort.url == "https://api.internal:443/version")
        #expect(defaultPort.connectTo == "api.internal:443:[fd00::1]:443")
        #expect(ServerNameRoute(url: URL(string: "https://kubernetes:6443")!, serverName: "kubernetes") == nil)
        #expect(ServerNameRoute(url: URL(string: "http://10.0.0.1:8080")!, serverName: "kubernetes") == nil)
        #expect(ServerNameRoute(url: URL(string: "https://10.0.0.1")!, serverName: nil) == nil)
    }

    @Test func clientCertificateIsAccepted() async throws {
        let client = HTTPClient(
            configuration: .init(
                tls: .init(
                    trustedCAPEM: try TestServers.tlsFile("ca.pem"),
                    clientCertificatePEM: try TestServers.tlsFile("client.pem"),
                    clientKeyPEM: try TestServers.tlsFile("client-key.pem"))))
        let body = testBytes(count: 200_000, seed: 21)
        let response = try await client.send(
            HTTPRequest(method: .put, url: try TestServers.mtls("/echo"), body: .bytes(body)))
        #expect(response.status == 200)
        let echo = try Echo(response.body)
        #expect(echo.bodySHA256 == SHA256.hex(body))
        #expect(echo.httpVersion == "2")
    }

    @Test func missingClientCertificateFailsWithTLS() async throws {
        let client = HTTPClient(configuration: .init(tls: .init(trustedCAPEM: try TestServers.tlsFile("ca.pem"))))
        let error = await #expect(throws: HTTPClientError.self) {
            try await client.send(HTTPRequest(url: try TestServers.mtls("/echo")))
        }
        // With TLS 1.3 the client finishes its side of the handshake before the server checks the certificate, so
        // the refusal arrives as an alert or a closed connection, whichever libcurl sees first.
        #expect([.tls, .connectionLost].contains(error?.code), "got \(String(describing: error))")
    }

    @Test func clientCertificateWithoutItsKeyFails() async throws {
        let client = HTTPClient(
            configuration: .init(
                tls: .init(
                    trustedCAPEM: try TestServers.tlsFile("ca.pem"),
                    clientCertificatePEM: try TestServers.tlsFile("client.pem"),
                    clientKeyPEM: try TestServers.tlsFile("server-key.pem"))))
        let error = await #expect(throws: HTTPClientError.self) {
            try await client.send(HTTPRequest(url: try TestServers.mtls("/echo")))
        }
        #expect(error?.code == .tls, "got \(String(describing: error))")
    }
}
