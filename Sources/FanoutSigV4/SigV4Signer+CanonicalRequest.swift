public import Foundation

extension SigV4Signer {
    /// Step 1: the canonical request for a request to `url` carrying `headers`.
    ///
    /// The path and query come from `url`, decoded and re-encoded by the SigV4 rules (a `+` in the
    /// query is a plus sign, not a space). All of `headers` are signed except hop-by-hop ones such as
    /// `user-agent`, `expect` and `transfer-encoding`; a `host` header is added from `url` (with its
    /// port, unless it is the scheme's default) when `headers` has none.
    ///
    /// - Parameters:
    ///   - method: The HTTP method; it is uppercased.
    ///   - url: The request URL.
    ///   - headers: The headers to sign, including `x-amz-date` and any other `x-amz-` headers.
    ///   - payloadHash: The hex SHA-256 of the body, or ``SigV4/unsignedPayload``.
    /// - Throws: ``SigV4Error`` with code ``SigV4Error/Code/missingHost`` if there is no host to sign.
    public func canonicalRequest(
        method: String,
        url: URL,
        headers: [(name: String, value: String)],
        payloadHash: String
    ) throws(SigV4Error) -> CanonicalRequest {
        let path = url.path(percentEncoded: true)
        let query = SigV4.canonicalQueryParameters(percentEncodedQuery: url.query(percentEncoded: true) ?? "")
        return try canonicalRequest(
            method: method,
            url: url,
            canonicalURI: SigV4.canonicalURI(percentEncodedPath: path),
            canonicalQueryString: SigV4.canonicalQueryString(query),
            headers: headers,
            payloadHash: payloadHash
        )
    }

    func canonicalRequest(
        method: String,
        url: URL,
        canonicalURI: String,
        canonicalQueryString: String,
        headers: [(name: String, value: String)],
        payloadHash: String
    ) throws(SigV4Error) -> CanonicalRequest {
        // Group values by lowercased name, keeping the order in which repeated headers were given.
        var values: [String: [String]] = [:]
        for (name, value) in headers {
            let name = SigV4.canonicalHeaderName(name)
            guard !SigV4.unsignedHeaderNames.contains(name) else {
                continue
            }
            values[name, default: []].append(Self.canonicalHeaderValue(value))
        }
        if values["host"] == nil {
            guard let host = Self.hostHeader(for: url) else {
                throw SigV4Error(
                    .missingHost,
                    "The URL \(url.absoluteString) has no host; use an absolute URL such as "
                        + "https://bucket.s3.amazonaws.com/key, or pass a Host header."
                )
            }
            values["host"] = [host]
        }
        let names = values.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let canonicalHeaders = names.map { name in
            "\(name):\(values[name, default: []].joined(separator: ","))\n"
        }
        return CanonicalRequest(
            method: method.uppercased(),
            canonicalURI: canonicalURI,
            canonicalQueryString: canonicalQueryString,
            canonicalHeaders: canonicalHeaders.joined(),
            signedHeaders: names.joined(separator: ";"),
            payloadHash: payloadHash
        )
    }

    /// A header value trimmed at both ends, with inner runs of spaces and tabs collapsed to one space.
    static func canonicalHeaderValue(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    /// The `Host` header an HTTP client sends for `url`: the host, with the port unless it is the
    /// scheme's default, and IPv6 addresses in brackets.
    static func hostHeader(for url: URL) -> String? {
        guard var host = url.host(percentEncoded: true), !host.isEmpty else {
            return nil
        }
        if host.contains(":"), !host.hasPrefix("[") {
            host = "[\(host)]"
        }
        guard let port = url.port else {
            return host
        }
        let defaultPort: Int? =
            switch url.scheme?.lowercased() {
            case "http": 80
            case "https": 443
            default: nil
            }
        return port == defaultPort ? host : "\(host):\(port)"
    }
}
