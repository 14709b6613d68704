import FanoutCore
import FanoutHTTP
import FanoutStorage
import Foundation
import Logging

/// What one request authenticates with: a bearer token and the TLS identity to present.
struct KubernetesCredential: Sendable {
    var bearerToken: String?
    var tls: TLSConfiguration
}

/// Hands out credentials for requests: a fixed token, a token file read again as it rotates, or an exec
/// plugin's credential, held by a ``RefreshingValue`` until it expires and fetched again after a 401. One plugin
/// run at a time, however many requests ask at once.
actor KubernetesAuthenticator {
    let configuration: KubernetesConfiguration
    private var fileToken: (value: String, readAt: ContinuousClock.Instant)?
    private let execCredential: RefreshingValue<ExecCredentialStatus>?

    init(
        configuration: KubernetesConfiguration, environment: [String: String], now: @escaping @Sendable () -> Date,
        logger: Logger
    ) {
        self.configuration = configuration
        if case .exec(let exec) = configuration.authentication {
            let plugin = ExecCredentialPlugin(
                config: exec, clusterInfo: configuration.clusterInfo, environment: environment, logger: logger)
            execCredential = RefreshingValue(
                label: "the exec plugin's credential", refreshMargin: .zero, now: now, logger: logger,
                expiration: { $0.expiration }, fetch: { try await plugin.run() })
        } else {
            execCredential = nil
        }
    }

    /// Exec plugin runs so far, for tests and logs.
    var pluginRuns: Int {
        get async { await execCredential?.fetchCount ?? 0 }
    }

    /// Whether a 401 is worth one more try with fresh credentials.
    nonisolated var canRefresh: Bool {
        switch configuration.authentication {
        case .tokenFile, .exec: true
        case .none, .token: false
        }
    }

    func credential() async throws -> KubernetesCredential {
        var credential = KubernetesCredential(bearerToken: nil, tls: configuration.tls)
        switch configuration.authentication {
        case .none:
            break
        case .token(let token):
            credential.bearerToken = token
        case .tokenFile(let path, let refresh):
            let clock = ContinuousClock()
            if let fileToken, clock.now - fileToken.readAt < refresh {
                credential.bearerToken = fileToken.value
            } else {
                let token = try readToken(path)
                fileToken = (token, clock.now)
                credential.bearerToken = token
            }
        case .exec:
            guard let status = try await execCredential?.value() else { break }
            if let token = status.token {
                credential.bearerToken = token
            } else if let certificate = status.clientCertificateData, let key = status.clientKeyData {
                credential.tls.clientCertificatePEM = Data(certificate.utf8)
                credential.tls.clientKeyPEM = Data(key.utf8)
            }
        }
        return credential
    }

    /// Forgets cached credentials after the server refused them.
    func invalidate() async {
        fileToken = nil
        await execCredential?.invalidate()
    }

    private func readToken(_ path: String) throws -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw KubernetesError(
                code: .invalidConfiguration, message: "cannot read the token file \(path)", underlying: error)
        }
    }
}

/// The `status` of an `ExecCredential` a plugin printed.
struct ExecCredentialStatus: Codable, Sendable {
    var token: String?
    var clientCertificateData: String?
    var clientKeyData: String?
    var expirationTimestamp: String?

    /// When the credential expires; `nil` means it does not (until a 401).
    var expiration: Date? { expirationTimestamp.flatMap(RFC3339.parse) }

}

/// Runs an exec credential plugin as client-go does: the command with its args, the caller's environment plus
/// the plugin's `env`, `KUBERNETES_EXEC_INFO` describing the request, no standard input (never interactive).
struct ExecCredentialPlugin: Sendable {
    let config: Kubeconfig.ExecConfig
    let clusterInfo: KubernetesConfiguration.ExecClusterInfo?
    let environment: [String: String]
    let logger: Logger

    static let supportedVersions = ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"]

    func run() async throws -> ExecCredentialStatus {
        let apiVersion = config.apiVersion ?? "client.authentication.k8s.io/v1"
        guard Self.supportedVersions.contains(apiVersion) else {
            throw failure(
                "its apiVersion \(apiVersion) is not supported (use "
                    + Self.supportedVersions.joined(separator: " or ") + ")"
            )
        }
        var variables = environment
        for variable in config.env ?? [] { variables[variable.name] = variable.value }
        variables["KUBERNETES_EXEC_INFO"] = try execInfo(apiVersion: apiVersion)
        logger.debug("running the exec credential plugin", metadata: ["command": "\(config.command)"])
        let result: ChildProcess.Result
        do {
            result = try await ChildProcess.run(config.command, arguments: config.args ?? [], environment: variables)
        } catch let error as ChildProcessError {
            throw failure("it could not be started: \(error.message)")
        }
        guard result.succeeded else { throw failure(result.description) }
        let credential: ExecCredential
        do {
            credential = try JSONDecoder().decode(ExecCredential.self, from: result.standardOutput)
        } catch {
            throw failure("it did not print an ExecCredential: \(error)")
        }
        guard credential.kind == "ExecCredential" else { throw failure("it printed kind '\(credential.kind ?? "")'") }
        guard credential.apiVersion == apiVersion else {
            throw failure(
                "it printed apiVersion '\(credential.apiVersion ?? "")' but the kubeconfig asks for \(apiVersion)")
        }
        guard let status = credential.status,
            status.token?.isEmpty == false || (status.clientCertificateData != nil && status.clientKeyData != nil)
        else {
            throw failure(
                "its ExecCredential has neither status.token nor status.clientCertificateData and clientKeyData")
        }
        if let timestamp = status.expirationTimestamp, RFC3339.parse(timestamp) == nil {
            throw failure("its expirationTimestamp '\(timestamp)' is not an RFC 3339 time")
        }
        return status
    }

    private func execInfo(apiVersion: String) throws -> String {
        struct Info: Encodable {
            struct Spec: Encodable {
                var interactive: Bool
                var cluster: KubernetesConfiguration.ExecClusterInfo?
            }
            var apiVersion: String
            var kind = "ExecCredential"
            var spec: Spec
        }
        let cluster = config.provideClusterInfo == true ? clusterInfo : nil
        let info = Info(apiVersion: apiVersion, spec: .init(interactive: false, cluster: cluster))
        return String(decoding: try JSONEncoder().encode(info), as: UTF8.self)
    }

    private func failure(_ detail: String) -> KubernetesError {
        KubernetesError(
            code: .credentialPlugin, message: "the exec credential plugin \(config.command) failed: \(detail)",
            hint: config.installHint)
    }

    private struct ExecCredential: Decodable {
        var apiVersion: String?
        var kind: String?
        var status: ExecCredentialStatus?
    }
}

/// RFC 3339 times, with or without fractional seconds.
enum RFC3339 {
    static func parse(_ text: String) -> Date? {
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        if let date = plain.date(from: text) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)
    }
}
