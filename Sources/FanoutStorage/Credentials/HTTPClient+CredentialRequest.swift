import FanoutHTTP
import Foundation
import Logging

extension HTTPClient {
    /// Sends a request to a credential service (STS, SSO, a credentials endpoint), whose answer is 1 MiB at most.
    ///
    /// - Throws: A ``CredentialError`` with `code` and the message `unreachable` when the service cannot be reached.
    func credentialRequest(
        _ request: HTTPRequest, timeout: Duration, logger: Logger, failure code: CredentialError.Code,
        unreachable: @autoclosure () -> String
    ) async throws -> HTTPFullResponse {
        do {
            return try await send(request, timeout: timeout, maxBodyBytes: 1 << 20, logger: logger)
        } catch {
            throw CredentialError(code: code, message: unreachable(), underlyingError: error)
        }
    }
}

extension HTTPFullResponse {
    /// The body decoded as JSON.
    ///
    /// - Throws: ``CredentialError/Code/invalidSTSResponse`` with `message` when it is not such a document.
    func credentialAnswer<Answer: Decodable>(_ type: Answer.Type, otherwise message: String) throws -> Answer {
        do {
            return try JSONDecoder().decode(type, from: body)
        } catch {
            throw CredentialError(code: .invalidSTSResponse, message: message, underlyingError: error)
        }
    }
}
