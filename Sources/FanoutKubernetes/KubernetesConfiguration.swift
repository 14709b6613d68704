public import FanoutHTTP
public import Foundation

/// Where the API server is and how to authenticate to it, resolved from a kubeconfig or from the service
/// account of the pod this process runs in.
///
/// ``resolve(context:namespace:environment:)`` follows kubectl: the files of `KUBECONFIG` merged in order, else
/// `~/.kube/config`, else the in-cluster service account; then the context (the override, else the current
/// context) and the namespace (the override, else the context's, else `default`).
public struct KubernetesConfiguration: Sendable {
    /// The API server's base URL: `https://10.0.0.1:6443`.
    public var server: URL
    /// Namespace used when an operation names none.
    public var namespace: String
    /// Whom to trust, the name the server's certificate must carry (`tls-server-name`), and the static client
    /// certificate when the user has one.
    public var tls: TLSConfiguration
    /// How requests are authenticated.
    public var authentication: Authentication
    /// A proxy for every request (`proxy-url`). Default `nil`.
    public var proxy: String?
    /// The kubeconfig context this came from; `nil` in cluster.
    public var contextName: String?
    /// What an exec plugin is told about the cluster when it asks for it (`provideClusterInfo`).
    public var clusterInfo: ExecClusterInfo?

    /// How requests prove who is making them.
    public enum Authentication: Sendable, Hashable {
        /// No credentials (or only the client certificate in ``KubernetesConfiguration/tls``).
        case none
        /// A fixed bearer token.
        case token(String)
        /// A bearer token read from a file, read again every `refresh` and after a 401, since bound
        /// service-account tokens rotate.
        case tokenFile(path: String, refresh: Duration)
        /// An exec credential plugin, run when a credential is needed and cached until it expires or a 401.
        case exec(Kubeconfig.ExecConfig)
    }

    /// The cluster as an exec plugin sees it in `KUBERNETES_EXEC_INFO` with `provideClusterInfo: true`.
    public struct ExecClusterInfo: Sendable, Hashable, Codable {
        public var server: String
        public var tlsServerName: String?
        public var certificateAuthorityData: String?
        public var insecureSkipTLSVerify: Bool?

        enum CodingKeys: String, CodingKey {
            case server
            case tlsServerName = "tls-server-name"
            case certificateAuthorityData = "certificate-authority-data"
            case insecureSkipTLSVerify = "insecure-skip-tls-verify"
        }
    }

    public init(
        server: URL, namespace: String = "default", tls: TLSConfiguration = TLSConfiguration(),
        authentication: Authentication = .none, proxy: String? = nil
    ) {
        self.server = server
        self.namespace = namespace
        self.tls = tls
        self.authentication = authentication
        self.proxy = proxy
    }

    /// The default service-account folder in a pod.
    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// Resolves the configuration as kubectl does.
    ///
    /// - Parameters:
    ///   - kubeconfig: Explicit kubeconfig files (like `--kubeconfig`); each must exist. Default: `KUBECONFIG`'s
    ///     files (missing ones skipped), else `~/.kube/config` when it exists, else the in-cluster service account.
    ///   - context: The context to use instead of the current one.
    ///   - namespace: The namespace to use instead of the context's.
    ///   - environment: The variables to read (`KUBECONFIG`, `HOME`, `KUBERNETES_SERVICE_HOST`...).
    /// - Throws: ``KubernetesError`` with code ``KubernetesError/Code/invalidConfiguration`` when nothing usable
    ///   is found, naming what was looked at.
    public static func resolve(
        kubeconfig: [String]? = nil,
        context: String? = nil,
        namespace: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        serviceAccountDirectory: String = KubernetesConfiguration.serviceAccountDirectory
    ) throws -> KubernetesConfiguration {
        var paths: [String] = []
        if let kubeconfig {
            paths = kubeconfig
        } else if let list = environment["KUBECONFIG"], !list.isEmpty {
            paths = list.split(separator: ":").map(String.init).filter { FileManager.default.fileExists(atPath: $0) }
        } else {
            let home = environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path
            let path = home + "/.kube/config"
            if FileManager.default.fileExists(atPath: path) { paths = [path] }
        }
        if paths.isEmpty {
            if environment["KUBERNETES_SERVICE_HOST"] != nil {
                return try inCluster(
                    namespace: namespace, environment: environment, serviceAccountDirectory: serviceAccountDirectory)
            }
            throw KubernetesError(
                code: .invalidConfiguration,
                message: "no kubeconfig found (KUBECONFIG is "
                    + (environment["KUBECONFIG"].map { "'\($0)'" } ?? "unset")
                    + ", no ~/.kube/config) and not running in a cluster",
                hint: "Point KUBECONFIG at a kubeconfig file, or run inside a pod with a service account.")
        }
        let config = Kubeconfig.merged(try paths.map { try Kubeconfig.load(path: $0) })
        return try from(config, context: context, namespace: namespace, source: paths.joined(separator: ":"))
    }

    /// The configuration of one context of a kubeconfig.
    public static func from(
        _ config: Kubeconfig, context: String? = nil, namespace: String? = nil, source: String = "the kubeconfig"
    ) throws -> KubernetesConfiguration {
        func invalid(_ message: String) -> KubernetesError {
            KubernetesError(code: .invalidConfiguration, message: "\(source): \(message)")
        }
        guard let contextName = context ?? config.currentContext, !contextName.isEmpty else {
            throw invalid("no current-context is set and no context was given")
        }
        guard let selected = config.context(named: contextName) else {
            let known = (config.contexts ?? []).map(\.name).joined(separator: ", ")
            throw invalid("there is no context '\(contextName)' (contexts: \(known.isEmpty ? "none" : known))")
        }
        guard let cluster = config.cluster(named: selected.cluster) else {
            throw invalid("context '\(contextName)' names the cluster '\(selected.cluster)', which is not defined")
        }
        guard let serverText = cluster.server, let server = URL(string: serverText), server.host != nil else {
            throw invalid("cluster '\(selected.cluster)' has no valid server URL")
        }
        let user =
            try selected.user.map { name -> Kubeconfig.User in
                guard let user = config.user(named: name) else {
                    throw invalid("context '\(contextName)' names the user '\(name)', which is not defined")
                }
                return user
            } ?? Kubeconfig.User()

        var tls = TLSConfiguration(
            insecureSkipVerify: cluster.insecureSkipTLSVerify ?? false,
            serverName: cluster.tlsServerName.flatMap { $0.isEmpty ? nil : $0 })
        tls.trustedCAPEM = try pem(
            data: cluster.certificateAuthorityData, file: cluster.certificateAuthority, what: "CA")
        tls.clientCertificatePEM = try pem(
            data: user.clientCertificateData, file: user.clientCertificate, what: "client certificate")
        tls.clientKeyPEM = try pem(data: user.clientKeyData, file: user.clientKey, what: "client key")

        let authentication: Authentication
        if let exec = user.exec {
            authentication = .exec(exec)
        } else if let tokenFile = user.tokenFile, !tokenFile.isEmpty {
            authentication = .tokenFile(path: tokenFile, refresh: .seconds(60))
        } else if let token = user.token, !token.isEmpty {
            authentication = .token(token)
        } else {
            authentication = .none
        }
        var configuration = KubernetesConfiguration(
            server: server, namespace: namespace ?? selected.namespace.flatMap { $0.isEmpty ? nil : $0 } ?? "default",
            tls: tls, authentication: authentication, proxy: cluster.proxyURL)
        configuration.contextName = contextName
        configuration.clusterInfo = ExecClusterInfo(
            server: serverText, tlsServerName: tls.serverName,
            certificateAuthorityData: cluster.certificateAuthorityData
                ?? tls.trustedCAPEM.map { $0.base64EncodedString() },
            insecureSkipTLSVerify: cluster.insecureSkipTLSVerify)
        return configuration
    }

    /// The configuration of a pod's service account: `KUBERNETES_SERVICE_HOST` and `KUBERNETES_SERVICE_PORT`,
    /// the token file (read again as it rotates), `ca.crt`, and the namespace (the override, `POD_NAMESPACE`, the
    /// namespace file, `default`).
    public static func inCluster(
        namespace: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        serviceAccountDirectory: String = KubernetesConfiguration.serviceAccountDirectory
    ) throws -> KubernetesConfiguration {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty else {
            throw KubernetesError(
                code: .invalidConfiguration, message: "KUBERNETES_SERVICE_HOST is not set: not running in a cluster")
        }
        let port = environment["KUBERNETES_SERVICE_PORT"].flatMap { $0.isEmpty ? nil : $0 } ?? "443"
        let hostPart = host.contains(":") ? "[\(host)]" : host
        guard let server = URL(string: "https://\(hostPart):\(port)") else {
            throw KubernetesError(
                code: .invalidConfiguration, message: "KUBERNETES_SERVICE_HOST '\(host)' is not a valid host")
        }
        let folder = URL(fileURLWithPath: serviceAccountDirectory)
        let tokenPath = folder.appendingPathComponent("token").path
        guard FileManager.default.fileExists(atPath: tokenPath) else {
            throw KubernetesError(
                code: .invalidConfiguration, message: "no service-account token at \(tokenPath)",
                hint: "Mount a service account token (automountServiceAccountToken) or use a kubeconfig.")
        }
        let ca = try? Data(contentsOf: folder.appendingPathComponent("ca.crt"))
        let fileNamespace = (try? String(contentsOf: folder.appendingPathComponent("namespace"), encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let resolvedNamespace =
            [namespace, environment["POD_NAMESPACE"], fileNamespace]
            .compactMap { $0 }.first { !$0.isEmpty } ?? "default"
        return KubernetesConfiguration(
            server: server, namespace: resolvedNamespace, tls: TLSConfiguration(trustedCAPEM: ca),
            authentication: .tokenFile(path: tokenPath, refresh: .seconds(60)))
    }

    private static func pem(data: String?, file: String?, what: String) throws -> Data? {
        if let data, !data.isEmpty {
            guard let decoded = Data(base64Encoded: data, options: .ignoreUnknownCharacters) else {
                throw KubernetesError(code: .invalidConfiguration, message: "the \(what) data is not valid base64")
            }
            return decoded
        }
        if let file, !file.isEmpty {
            do {
                return try Data(contentsOf: URL(fileURLWithPath: file))
            } catch {
                throw KubernetesError(
                    code: .invalidConfiguration, message: "cannot read the \(what) file \(file)", underlying: error)
            }
        }
        return nil
    }
}
