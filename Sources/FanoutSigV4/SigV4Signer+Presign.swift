public import Foundation

extension SigV4Signer {
    /// Signs a request in its query string, giving a URL that works without credentials until it expires.
    ///
    /// The URL carries `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`,
    /// `X-Amz-SignedHeaders`, `X-Amz-Security-Token` when the credentials have a session token, and
    /// `X-Amz-Signature`, after the query parameters of `url`. The body is not signed
    /// (`UNSIGNED-PAYLOAD`). The returned URL's path and query are in canonical form, so it is sent
    /// exactly as it was signed; any `X-Amz-` signing parameters already in `url` are replaced.
    ///
    /// A presigned URL stays valid only as long as the credentials that signed it: one signed with
    /// temporary credentials stops working when they expire, whatever `expires` says.
    ///
    /// - Parameters:
    ///   - method: The HTTP method the URL is for; `GET` by default.
    ///   - url: The request URL.
    ///   - expires: How long the URL is valid, from 1 second to 7 days; fractions of a second are dropped.
    ///   - date: The signing time, from which `expires` counts.
    ///   - headers: Headers the user of the URL must send with these exact values, such as
    ///     `Content-Type`; empty by default. `Host` is always signed.
    /// - Returns: The presigned URL.
    /// - Throws: ``SigV4Error`` with code ``SigV4Error/Code/invalidExpiration`` if `expires` is out of
    ///   range, or another code if `url` has no host or cannot be rebuilt.
    public func presignURL(
        method: String = "GET",
        url: URL,
        expires: Duration,
        date: Date,
        headers: [(name: String, value: String)] = []
    ) throws(SigV4Error) -> URL {
        let seconds = expires.components.seconds
        guard (1...SigV4.maximumPresignedExpiration.components.seconds).contains(seconds) else {
            throw SigV4Error(
                .invalidExpiration,
                "A presigned URL must expire after 1 second to 7 days (604800 seconds), not \(expires); "
                    + "choose an expiry in that range."
            )
        }
        guard var components = URLComponents(url: url, resolvingAgainstBaseURL: true) else {
            throw SigV4Error(.invalidURL, "The URL \(url.absoluteString) cannot be parsed.")
        }
        let timestamp = SigV4Timestamp(date)
        let ownNames: Set<String> = [
            "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
            "X-Amz-Security-Token", "X-Amz-Signature",
        ]
        var parameters = SigV4.canonicalQueryParameters(percentEncodedQuery: components.percentEncodedQuery ?? "")
            .filter { !ownNames.contains($0.name) }
        let canonicalURI = SigV4.canonicalURI(percentEncodedPath: components.percentEncodedPath)

        // The signed header names go into the query, so find them before signing.
        let signedHeaders = try canonicalRequest(
            method: method,
            url: url,
            canonicalURI: canonicalURI,
            canonicalQueryString: "",
            headers: headers,
            payloadHash: SigV4.unsignedPayload
        ).signedHeaders
        var signingParameters = [
            ("X-Amz-Algorithm", SigV4.algorithm),
            ("X-Amz-Credential", "\(credentials.accessKeyID)/\(credentialScope(date: date))"),
            ("X-Amz-Date", timestamp.amzDate),
            ("X-Amz-Expires", String(seconds)),
            ("X-Amz-SignedHeaders", signedHeaders),
        ]
        if let sessionToken {
            signingParameters.append(("X-Amz-Security-Token", sessionToken))
        }
        parameters += signingParameters.map { (name: $0.0, value: SigV4.uriEncode($0.1)) }
        let canonicalQuery = SigV4.canonicalQueryString(parameters)

        let request = try canonicalRequest(
            method: method,
            url: url,
            canonicalURI: canonicalURI,
            canonicalQueryString: canonicalQuery,
            headers: headers,
            payloadHash: SigV4.unsignedPayload
        )
        let signature = signature(for: request, date: date)

        components.percentEncodedPath = canonicalURI
        components.percentEncodedQuery = "\(canonicalQuery)&X-Amz-Signature=\(signature)"
        components.fragment = nil
        guard let presigned = components.url else {
            throw SigV4Error(.invalidURL, "The presigned URL for \(url.absoluteString) cannot be assembled.")
        }
        return presigned
    }
}
