public import Foundation
import Yams

/// A kubeconfig file, as kubectl reads it: clusters, users and contexts by name, and the current context.
///
/// ``load(path:)`` resolves the file's relative paths (certificate files, `tokenFile`, an exec command with a
/// `/`) against the file's folder, so that configs from several folders can be merged with ``merged(_:)``.
public struct Kubeconfig: Codable, Sendable, Hashable {
    public var clusters: [NamedCluster]?
    public var users: [NamedUser]?
    public var contexts: [NamedContext]?
    public var currentContext: String?

    enum CodingKeys: String, CodingKey {
        case clusters, users, contexts
        case currentContext = "current-context"
    }

    public init(
        clusters: [NamedCluster] = [], users: [NamedUser] = [], contexts: [NamedContext] = [],
        currentContext: String? = nil
    ) {
        self.clusters = clusters
        self.users = users
        self.contexts = contexts
        self.currentContext = currentContext
    }

    public struct NamedCluster: Codable, Sendable, Hashable {
        public var name: String
        public var cluster: Cluster
    }

    public struct Cluster: Codable, Sendable, Hashable {
        public var server: String?
        public var certificateAuthority: String?
        public var certificateAuthorityData: String?
        public var insecureSkipTLSVerify: Bool?
        public var tlsServerName: String?
        public var proxyURL: String?

        enum CodingKeys: String, CodingKey {
            case server
            case certificateAuthority = "certificate-authority"
            case certificateAuthorityData = "certificate-authority-data"
            case insecureSkipTLSVerify = "insecure-skip-tls-verify"
            case tlsServerName = "tls-server-name"
            case proxyURL = "proxy-url"
        }
    }

    public struct NamedUser: Codable, Sendable, Hashable {
        public var name: String
        public var user: User
    }

    public struct User: Codable, Sendable, Hashable {
        public var token: String?
        public var tokenFile: String?
        public var clientCertificate: String?
        public var clientCertificateData: String?
        public var clientKey: String?
        public var clientKeyData: String?
        public var exec: ExecConfig?

        enum CodingKeys: String, CodingKey {
            case token, tokenFile, exec
            case clientCertificate = "client-certificate"
            case clientCertificateData = "client-certificate-data"
            case clientKey = "client-key"
            case clientKeyData = "client-key-data"
        }
    }

    /// An exec credential plugin: a program that prints an `ExecCredential`.
    public struct ExecConfig: Codable, Sendable, Hashable {
        /// The program; a relative path with a `/` resolves against the kubeconfig's folder, a bare name is
        /// looked up on `PATH`.
        public var command: String
        public var args: [String]?
        public var env: [ExecEnvVar]?
        /// `client.authentication.k8s.io/v1` or `client.authentication.k8s.io/v1beta1`.
        public var apiVersion: String?
        public var installHint: String?
        public var provideClusterInfo: Bool?
        public var interactiveMode: String?

        public init(
            command: String, args: [String]? = nil, env: [ExecEnvVar]? = nil,
            apiVersion: String? = "client.authentication.k8s.io/v1", installHint: String? = nil,
            provideClusterInfo: Bool? = nil, interactiveMode: String? = "Never"
        ) {
            self.command = command
            self.args = args
            self.env = env
            self.apiVersion = apiVersion
            self.installHint = installHint
            self.provideClusterInfo = provideClusterInfo
            self.interactiveMode = interactiveMode
        }
    }

    public struct ExecEnvVar: Codable, Sendable, Hashable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public struct NamedContext: Codable, Sendable, Hashable {
        public var name: String
        public var context: Context
    }

    public struct Context: Codable, Sendable, Hashable {
        public var cluster: String
        public var user: String?
        public var namespace: String?
    }

    public func cluster(named name: String) -> Cluster? { clusters?.first { $0.name == name }?.cluster }
    public func user(named name: String) -> User? { users?.first { $0.name == name }?.user }
    public func context(named name: String) -> Context? { contexts?.first { $0.name == name }?.context }
}

extension Kubeconfig {
    /// Parses kubeconfig YAML (or JSON); relative paths are resolved against `folder` when given.
    /// - Throws: ``KubernetesError`` with code ``KubernetesError/Code/invalidConfiguration``.
    public static func parse(_ text: String, folder: URL? = nil, source: String = "kubeconfig") throws -> Kubeconfig {
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return Kubeconfig() }
        var config: Kubeconfig
        do {
            config = try YAMLDecoder().decode(Kubeconfig.self, from: text)
        } catch {
            throw KubernetesError(
                code: .invalidConfiguration, message: "\(source) is not a valid kubeconfig: \(error)",
                underlying: error)
        }
        if let folder { config.resolvePaths(relativeTo: folder) }
        return config
    }

    /// Reads one kubeconfig file and resolves its relative paths against its folder.
    public static func load(path: String) throws -> Kubeconfig {
        let url = URL(fileURLWithPath: path)
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw KubernetesError(
                code: .invalidConfiguration, message: "cannot read the kubeconfig \(path)", underlying: error)
        }
        return try parse(text, folder: url.deletingLastPathComponent(), source: path)
    }

    /// Merges configs as kubectl merges the files of `KUBECONFIG`: the first file to name a cluster, user or
    /// context wins, and so does the first to set the current context.
    public static func merged(_ configs: [Kubeconfig]) -> Kubeconfig {
        var result = Kubeconfig()
        for config in configs {
            for entry in config.clusters ?? [] where result.cluster(named: entry.name) == nil {
                result.clusters!.append(entry)
            }
            for entry in config.users ?? [] where result.user(named: entry.name) == nil {
                result.users!.append(entry)
            }
            for entry in config.contexts ?? [] where result.context(named: entry.name) == nil {
                result.contexts!.append(entry)
            }
            if result.currentContext?.isEmpty ?? true { result.currentContext = config.currentContext }
        }
        return result
    }

    mutating func resolvePaths(relativeTo folder: URL) {
        func resolve(_ path: String?) -> String? {
            guard let path, !path.isEmpty, !path.hasPrefix("/") else { return path }
            if path.hasPrefix("~/") {
                return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(String(path.dropFirst(2)))
                    .path
            }
            return folder.appendingPathComponent(path).standardizedFileURL.path
        }
        for index in (clusters ?? []).indices {
            clusters![index].cluster.certificateAuthority = resolve(clusters![index].cluster.certificateAuthority)
        }
        for index in (users ?? []).indices {
            users![index].user.clientCertificate = resolve(users![index].user.clientCertificate)
            users![index].user.clientKey = resolve(users![index].user.clientKey)
            users![index].user.tokenFile = resolve(users![index].user.tokenFile)
            if let command = users![index].user.exec?.command, command.contains("/") {
                users![index].user.exec!.command = resolve(command) ?? command
            }
        }
    }
}
