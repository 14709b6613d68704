import FanoutSigV4
import FanoutHTTP
import Foundation

/// The `AssumeRoleWithWebIdentity` call: the form-encoded request and the XML answers.
extension WebIdentityCredentialProvider {
    static func assumeRoleRequest(configuration: Configuration, sessionName: String, token: String) -> HTTPRequest {
        let fields = [
            ("Action", "AssumeRoleWithWebIdentity"),
            ("Version", "2011-06-15"),
            ("RoleArn", configuration.roleARN),
            ("RoleSessionName", sessionName),
            ("WebIdentityToken", token),
        ]
        let form = fields.map { "\($0)=\(formEncoded($1))" }.joined(separator: "&")
        return HTTPRequest(
            method: .post,
            url: configuration.stsEndpoint,
            headers: [
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                "Accept": "application/xml, text/xml",
            ],
            body: .bytes(form))
    }

    /// Credentials from a successful answer, or the error an unsuccessful one describes.
    ///
    /// - Parameter webIdentity: Whether the call was `AssumeRoleWithWebIdentity` (else `AssumeRole`), for the hint.
    static func parseResponse(
        status: Int, body: String, roleARN: String, endpoint: URL, webIdentity: Bool = true
    ) throws -> AWSCredentials {
        guard (200..<300).contains(status) else {
            let who = webIdentity ? "this web identity" : "these credentials"
            let what = "STS at \(endpoint.absoluteString) refused to let \(who) assume role \(roleARN)"
            if let code = xmlElement("Code", in: body) {
                let detail = xmlElement("Message", in: body).map { ": \($0)" } ?? ""
                let hint =
                    webIdentity
                    ? "Check the role's trust policy, that the token's issuer is registered as an IAM OIDC provider, "
                        + "and that the token has not expired"
                    : "Check the role's trust policy and that the source profile's credentials may call "
                        + "sts:AssumeRole on it"
                throw CredentialError(
                    code: .stsRejected, message: "\(what) (HTTP \(status), \(code)\(detail)). \(hint)")
            }
            throw CredentialError(
                code: .stsRejected,
                message: "\(what) (HTTP \(status), not an STS error document: \(excerpt(body))). Check "
                    + "AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL")
        }
        guard let credentials = xmlElement("Credentials", in: body),
            let accessKeyID = xmlElement("AccessKeyId", in: credentials),
            let secretAccessKey = xmlElement("SecretAccessKey", in: credentials)
        else {
            throw CredentialError(
                code: .invalidSTSResponse,
                message: "STS at \(endpoint.absoluteString) answered HTTP \(status) without credentials "
                    + "(\(excerpt(body))): check AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL")
        }
        let expiration = try xmlElement("Expiration", in: credentials).map { text in
            guard let date = parseTimestamp(text) else {
                throw CredentialError(
                    code: .invalidSTSResponse,
                    message:
                        "STS at \(endpoint.absoluteString) sent an Expiration that is not an ISO 8601 time: '\(text)'")
            }
            return date
        }
        return AWSCredentials(
            accessKeyID: accessKeyID, secretAccessKey: secretAccessKey,
            sessionToken: xmlElement("SessionToken", in: credentials), expiration: expiration)
    }

    /// Parses `2024-05-01T12:00:00Z`, with or without fractional seconds.
    static func parseTimestamp(_ text: String) -> Date? {
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
        return try? Date.ISO8601FormatStyle().parse(text)
    }

    /// The text inside the first `<name>` element, entities decoded; elements are matched by local name.
    ///
    /// STS documents are small and flat, so a scan suffices: no DTDs, CDATA or repeated element names are expected.
    static func xmlElement(_ name: String, in xml: String) -> String? {
        var searchStart = xml.startIndex
        while let open = xml.range(of: "<", range: searchStart..<xml.endIndex) {
            guard let close = xml.range(of: ">", range: open.upperBound..<xml.endIndex) else { return nil }
            searchStart = close.upperBound
            let tag = xml[open.upperBound..<close.lowerBound]
            let tagName = tag.prefix { !$0.isWhitespace && $0 != "/" }
            guard !tag.hasPrefix("/"), !tag.hasSuffix("/"),
                tagName == name || tagName.hasSuffix(":" + name)
            else { continue }
            guard let end = xml.range(of: "</\(tagName)>", range: close.upperBound..<xml.endIndex) else { return nil }
            return decodeEntities(String(xml[close.upperBound..<end.lowerBound]))
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return nil
    }

    private static func decodeEntities(_ text: String) -> String {
        guard text.contains("&") else { return text }
        return text.replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"")
            .replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }

    /// Form encoding with only unreserved characters left as they are (RFC 3986).
    private static func formEncoded(_ value: String) -> String {
        var allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }

    /// The start of a response body, on one line, for error messages.
    private static func excerpt(_ body: String) -> String {
        let line = body.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .joined(separator: " ")
        if line.isEmpty { return "empty body" }
        return line.count > 200 ? "'\(line.prefix(200))...'" : "'\(line)'"
    }
}
