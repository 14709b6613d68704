public import Foundation

extension HTTPClient {
    /// How an ``HTTPClient`` connects. Every field has a default suited to object storage.
    public struct Configuration: Sendable {
        /// Time allowed to establish a connection, TLS included. Default 10 s.
        public var connectTimeout: Duration
        /// A transfer that moves less than one byte per second for this long is aborted and may be retried.
        /// Default 60 s; `nil` disables the check.
        public var stallTimeout: Duration?
        /// Retries for transient failures. Default ``RetryPolicy/default``.
        public var retry: RetryPolicy
        /// TLS trust and identity. Default: the system's trust store, no client certificate.
        public var tls: TLSConfiguration
        /// Which HTTP versions to speak. Default ``HTTPVersion/automatic``.
        public var httpVersion: HTTPVersion
        /// Connections kept open to one host at most; further requests queue. Default 64.
        public var maxConnectionsPerHost: Int
        /// A proxy URL for every request. Default `nil`: libcurl reads `http_proxy`, `https_proxy`, `HTTPS_PROXY`,
        /// `all_proxy` and `no_proxy` from the environment, as curl does.
        public var proxy: String?
        /// Hosts that bypass the proxy, comma-separated, as `no_proxy`. Default `nil`.
        public var noProxy: String?
        /// Bytes of response body buffered before the transfer pauses for a slow reader. Default 1 MiB.
        public var responseBufferSize: Int

        public init(
            connectTimeout: Duration = .seconds(10),
            stallTimeout: Duration? = .seconds(60),
            retry: RetryPolicy = .default,
            tls: TLSConfiguration = .init(),
            httpVersion: HTTPVersion = .automatic,
            maxConnectionsPerHost: Int = 64,
            proxy: String? = nil,
            noProxy: String? = nil,
            responseBufferSize: Int = 1 << 20
        ) {
            self.connectTimeout = connectTimeout
            self.stallTimeout = stallTimeout
            self.retry = retry
            self.tls = tls
            self.httpVersion = httpVersion
            self.maxConnectionsPerHost = maxConnectionsPerHost
            self.proxy = proxy
            self.noProxy = noProxy
            self.responseBufferSize = responseBufferSize
        }
    }

    /// The HTTP versions a client offers.
    public enum HTTPVersion: Sendable {
        /// HTTP/2 over TLS when the server offers it (ALPN), HTTP/1.1 otherwise and over cleartext.
        case automatic
        /// HTTP/1.1 only.
        case http1_1
        /// HTTP/2 without negotiation, also over cleartext (h2c with prior knowledge).
        ///
        /// With libcurl older than 8.0 (Debian 12 ships 7.88), cleartext requests each get a connection of their own,
        /// because those versions fail on a reused h2c connection.
        case http2PriorKnowledge
    }
}

/// TLS settings: whom to trust, and who we are.
public struct TLSConfiguration: Sendable, Hashable {
    /// PEM certificates of the certificate authorities to trust instead of the system's. Default `nil`: system trust.
    public var trustedCAPEM: Data?
    /// A PEM client certificate presented to the server (mutual TLS). Default `nil`.
    public var clientCertificatePEM: Data?
    /// The PEM private key of ``clientCertificatePEM``. Default `nil`.
    public var clientKeyPEM: Data?
    /// Accept any server certificate and host name. Default `false`; only for test clusters.
    public var insecureSkipVerify: Bool
    /// The name the server's certificate must carry, also sent for SNI, when it differs from the URL's host
    /// (kubeconfig's `tls-server-name`: an API server reached through an IP address, a tunnel or a load balancer).
    /// HTTPS requests are then addressed to this name, so their `Host` header carries it, and connect to the URL's
    /// host and port. Default `nil`: the URL's host.
    public var serverName: String?

    public init(
        trustedCAPEM: Data? = nil,
        clientCertificatePEM: Data? = nil,
        clientKeyPEM: Data? = nil,
        insecureSkipVerify: Bool = false,
        serverName: String? = nil
    ) {
        self.trustedCAPEM = trustedCAPEM
        self.clientCertificatePEM = clientCertificatePEM
        self.clientKeyPEM = clientKeyPEM
        self.insecureSkipVerify = insecureSkipVerify
        self.serverName = serverName
    }
}
