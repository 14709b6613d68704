public import Foundation

extension SigV4Signer {
    /// Signs a request with the `Authorization` header and returns the headers to send.
    ///
    /// The result is `headers` without any stale `authorization`, `x-amz-date`, `x-amz-content-sha256`
    /// or `x-amz-security-token`, followed by fresh ones: `x-amz-date`, `x-amz-content-sha256` (the
    /// payload hash), `x-amz-security-token` when the credentials have a session token, and
    /// `Authorization`. `Host` is signed but not returned unless given: HTTP clients derive it from `url`.
    ///
    /// The path and query are signed in canonical form, so build `url` with ``SigV4/uriEncode(_:encodeSlash:)``
    /// to send exactly what was signed.
    ///
    /// - Parameters:
    ///   - method: The HTTP method, such as `GET` or `PUT`.
    ///   - url: The request URL, path and query percent-encoded.
    ///   - headers: Headers to send and sign, such as `Range` or `Content-Type`; empty by default.
    ///   - payloadHash: ``SigV4/sha256Hex(_:)`` of the body, ``SigV4/emptyPayloadHash``
    ///     for no body, or ``SigV4/unsignedPayload`` to leave the body out of the signature.
    ///   - date: The signing time. S3 rejects requests signed more than 15 minutes from its clock.
    /// - Returns: The headers to send, in order.
    /// - Throws: ``SigV4Error`` if the payload hash is malformed or there is no host to sign.
    public func signHeaders(
        method: String,
        url: URL,
        headers: [(name: String, value: String)] = [],
        payloadHash: String,
        date: Date
    ) throws(SigV4Error) -> [(name: String, value: String)] {
        guard SigV4.isValidPayloadHash(payloadHash) else {
            throw SigV4Error(
                .invalidPayloadHash,
                "The payload hash \"\(payloadHash)\" is neither a lowercase hex SHA-256 nor UNSIGNED-PAYLOAD; "
                    + "compute it with SigV4.sha256Hex(_:)."
            )
        }
        let replaced: Set<String> = ["authorization", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token"]
        var signed = headers.filter { !replaced.contains(SigV4.canonicalHeaderName($0.name)) }
        signed.append((name: "x-amz-date", value: SigV4Timestamp(date).amzDate))
        signed.append((name: "x-amz-content-sha256", value: payloadHash))
        if let sessionToken {
            signed.append((name: "x-amz-security-token", value: sessionToken))
        }
        let request = try canonicalRequest(method: method, url: url, headers: signed, payloadHash: payloadHash)
        let signature = signature(for: request, date: date)
        let credential = "\(credentials.accessKeyID)/\(credentialScope(date: date))"
        let authorization = [
            "\(SigV4.algorithm) Credential=\(credential)",
            "SignedHeaders=\(request.signedHeaders)",
            "Signature=\(signature)",
        ].joined(separator: ", ")
        signed.append((name: "Authorization", value: authorization))
        return signed
    }
}
