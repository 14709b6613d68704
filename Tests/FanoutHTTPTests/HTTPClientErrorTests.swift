import Testing

@testable import FanoutHTTP

@Suite struct HTTPClientErrorTests {
    @Test func onlyTransportFailuresAreTransient() {
        let transient: [HTTPClientError.Code] = [.connectionFailed, .connectionLost, .timedOut]
        let permanent: [HTTPClientError.Code] = [.tls, .cancelled, .bodyTooLarge, .invalidRequest, .transport]
        for code in transient { #expect(HTTPClientError(code: code, message: "m").isTransient, "\(code)") }
        for code in permanent { #expect(!HTTPClientError(code: code, message: "m").isTransient, "\(code)") }
    }

    @Test func descriptionNamesTheRequestAttemptsAndWhatToDo() {
        let error = HTTPClientError(
            code: .connectionFailed, message: "Couldn't connect to server", request: "GET http://127.0.0.1:1/",
            attempts: 3, curlCode: 7)
        #expect(error.description.hasPrefix("GET http://127.0.0.1:1/: Couldn't connect to server (after 3 attempts)"))
        #expect(error.description.contains("Check that the endpoint URL is right"))
        let tls = HTTPClientError(code: .tls, message: "SSL certificate problem")
        #expect(tls.description == "SSL certificate problem. Check the CA certificate, or the client certificate and key.")
    }

    @Test func attemptsCanBeReplaced() {
        let error = HTTPClientError(code: .timedOut, message: "m", request: "r", curlCode: 28).with(attempts: 4)
        #expect(error.attempts == 4)
        #expect(error.code == .timedOut)
        #expect(error.curlCode == 28)
        #expect(error.request == "r")
    }
}
