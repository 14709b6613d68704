import Foundation

/// How a request reaches a server whose certificate names another host than the URL's
/// (``TLSConfiguration/serverName``).
///
/// libcurl checks the certificate against, and sends for SNI, the host of the URL, and has no option to name
/// another. So the URL is addressed to the server name, and `CURLOPT_CONNECT_TO` sends its connection to the
/// real host and port. The `Host` header (HTTP/2 `:authority`) then carries the server name too, which servers
/// that route by name expect and which the Kubernetes API server ignores.
struct ServerNameRoute: Sendable, Hashable {
    /// The URL to request: the original one, with the server name as its host.
    var url: String
    /// The `CURLOPT_CONNECT_TO` entry: `NAME:PORT:HOST:PORT`.
    var connectTo: String

    /// The route of `url` for `serverName`; `nil` when the URL needs none: no server name, a URL that is not
    /// HTTPS, or one whose host already is the server name.
    init?(url: URL, serverName: String?) {
        guard let serverName, !serverName.isEmpty, url.scheme?.lowercased() == "https",
            var components = URLComponents(url: url, resolvingAgainstBaseURL: false),
            let rawHost = components.host, !rawHost.isEmpty
        else { return nil }
        let host = rawHost.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        guard host.caseInsensitiveCompare(serverName) != .orderedSame else { return nil }
        let port = components.port ?? 443
        components.host = serverName
        components.port = port
        guard let rewritten = components.string else { return nil }
        func entry(_ name: String) -> String { name.contains(":") ? "[\(name)]" : name }
        self.url = rewritten
        self.connectTo = "\(entry(serverName)):\(port):\(entry(host)):\(port)"
    }
}
