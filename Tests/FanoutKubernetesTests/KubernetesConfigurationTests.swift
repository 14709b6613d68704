import FanoutHTTP
import FanoutKubernetes
import Foundation
import Synchronization
import Testing

/// A temporary folder for kubeconfigs, plugins and service-account files.
struct ScratchFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("fanout-kube-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    var path: String { url.path }

    @discardableResult
    func write(_ name: String, _ text: String, executable: Bool = false) throws -> String {
        let file = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: file)
        if executable { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: file.path) }
        return file.path
    }

    func read(_ name: String) -> String? { try? String(contentsOf: url.appendingPathComponent(name), encoding: .utf8) }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

extension KubernetesTests {
    @Suite struct KubernetesConfigurationTests {
        /// The server's CA, base64 for `certificate-authority-data`.
        private func caData() throws -> String {
            try Data(contentsOf: URL(fileURLWithPath: try KubeTestServer.tlsDirectory + "/ca.pem"))
                .base64EncodedString()
        }

        @Test func kubeconfigFilesMergeInOrderAsKubectlDoes() async throws {
            let folder = try ScratchFolder()
            defer { folder.remove() }
            let server = try KubeTestServer.api.absoluteString
            // The first file wins for names both define, and for the current context.
            let first = try folder.write(
                "first/config",
                """
                apiVersion: v1
                kind: Config
                current-context: primary
                clusters:
                - name: test
                  cluster:
                    server: \(server)
                    certificate-authority: ca.pem
                users:
                - name: me
                  user:
                    token: test-token
                contexts:
                - name: primary
                  context: {cluster: test, user: me, namespace: first-ns}
                """)
            try FileManager.default.copyItem(
                atPath: try KubeTestServer.tlsDirectory + "/ca.pem", toPath: folder.path + "/first/ca.pem")
            let second = try folder.write(
                "second/config",
                """
                apiVersion: v1
                kind: Config
                current-context: secondary
                clusters:
                - name: test
                  cluster: {server: "https://192.0.2.1:1"}
                users:
                - name: me
                  user: {token: not-this-one}
                contexts:
                - name: secondary
                  context: {cluster: test, user: me}
                """)
            let environment = ["KUBECONFIG": "\(first):\(folder.path)/missing:\(second)", "HOME": folder.path]

            let merged = try KubernetesConfiguration.resolve(environment: environment)
            #expect(merged.contextName == "primary")
            #expect(merged.server.absoluteString == server)
            #expect(merged.namespace == "first-ns")
            #expect(merged.authentication == .token("test-token"))

            let other = try KubernetesConfiguration.resolve(context: "secondary", environment: environment)
            #expect(other.server.absoluteString == server, "the first file's cluster 'test' wins")
            #expect(other.namespace == "default")
            #expect(
                try KubernetesConfiguration.resolve(namespace: "override", environment: environment).namespace
                    == "override")

            // The CA was found relative to the first file's folder: a real request verifies the server with it.
            let client = KubernetesClient(configuration: merged)
            _ = try await client.list(ConfigMap.self, namespace: "default")

            let missing = #expect(throws: KubernetesError.self) {
                _ = try KubernetesConfiguration.resolve(context: "nope", environment: environment)
            }
            #expect(missing?.code == .invalidConfiguration)
            #expect(missing?.message.contains("primary, secondary") == true)
        }

        @Test func homeKubeConfigAndNothingAtAll() throws {
            let folder = try ScratchFolder()
            defer { folder.remove() }
            let none = #expect(throws: KubernetesError.self) {
                _ = try KubernetesConfiguration.resolve(environment: ["HOME": folder.path])
            }
            #expect(none?.code == .invalidConfiguration)
            try folder.write(
                ".kube/config",
                """
                current-context: c
                clusters: [{name: k, cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}}]
                users: [{name: u, user: {tokenFile: token}}]
                contexts: [{name: c, context: {cluster: k, user: u, namespace: home-ns}}]
                """)
            let home = try KubernetesConfiguration.resolve(environment: ["HOME": folder.path])
            #expect(home.namespace == "home-ns")
            #expect(home.tls.insecureSkipVerify)
            #expect(home.authentication == .tokenFile(path: folder.path + "/.kube/token", refresh: .seconds(60)))
        }

        @Test func clientCertificateFilesAndInsecureSkipVerify() async throws {
            let folder = try ScratchFolder()
            defer { folder.remove() }
            let tls = try KubeTestServer.tlsDirectory
            for name in ["client.pem", "client-key.pem"] {
                try FileManager.default.copyItem(atPath: tls + "/" + name, toPath: folder.path + "/" + name)
            }
            let path = try folder.write(
                "config",
                """
                current-context: cert
                clusters:
                - name: k
                  cluster: {server: "\(try KubeTestServer.api.absoluteString)", insecure-skip-tls-verify: true}
                - name: strict
                  cluster: {server: "\(try KubeTestServer.api.absoluteString)"}
                users: [{name: u, user: {client-certificate: client.pem, client-key: client-key.pem}}]
                contexts:
                - {name: cert, context: {cluster: k, user: u}}
                - {name: strict, context: {cluster: strict, user: u}}
                """)
            let client = KubernetesClient(configuration: try .resolve(kubeconfig: [path]))
            #expect(client.configuration.tls.clientCertificatePEM != nil)
            _ = try await client.list(ConfigMap.self)

            // Without the CA and without insecure-skip-tls-verify the server's certificate is refused.
            let strict = KubernetesClient(
                configuration: try .resolve(kubeconfig: [path], context: "strict"), retry: .never)
            let error = await #expect(throws: KubernetesError.self) { _ = try await strict.list(ConfigMap.self) }
            #expect(error?.code == .transport)
        }

        @Test func tlsServerNameVerifiesACertificateThatDoesNotNameTheAddress() async throws {
            // The server's "named" context reaches 127.0.0.1, whose certificate names only kubernetes.default.svc.
            let configuration = try KubernetesConfiguration.resolve(
                kubeconfig: [try KubeTestServer.kubeconfig], context: "named")
            #expect(configuration.server.host == "127.0.0.1")
            #expect(configuration.tls.serverName == "kubernetes.default.svc")
            #expect(configuration.clusterInfo?.tlsServerName == "kubernetes.default.svc")
            let named = KubernetesClient(configuration: configuration, retry: .never)
            _ = try await named.list(ConfigMap.self)

            // Without the name the same server is refused: its certificate does not name 127.0.0.1.
            var unnamed = configuration
            unnamed.tls.serverName = nil
            let error = await #expect(throws: KubernetesError.self) {
                _ = try await KubernetesClient(configuration: unnamed, retry: .never).list(ConfigMap.self)
            }
            #expect(error?.code == .transport)
            #expect((error?.underlying as? HTTPClientError)?.code == .tls, "\(String(describing: error))")
        }

        @Test func inClusterServiceAccountWithARotatingToken() async throws {
            let folder = try ScratchFolder()
            defer { folder.remove() }
            let api = try KubeTestServer.api
            try FileManager.default.copyItem(
                atPath: try KubeTestServer.tlsDirectory + "/ca.pem", toPath: folder.path + "/ca.crt")
            try folder.write("token", "expired-token\n")
            try folder.write("namespace", "from-file\n")
            let environment = [
                "HOME": folder.path, "KUBERNETES_SERVICE_HOST": api.host!, "KUBERNETES_SERVICE_PORT": "\(api.port!)",
            ]
            let configuration = try KubernetesConfiguration.resolve(
                environment: environment, serviceAccountDirectory: folder.path)
            #expect(configuration.namespace == "from-file")
            #expect(configuration.server.absoluteString == "https://\(api.host!):\(api.port!)")
            #expect(
                try KubernetesConfiguration.inCluster(
                    environment: environment.merging(["POD_NAMESPACE": "from-env"]) { $1 },
                    serviceAccountDirectory: folder.path
                ).namespace == "from-env")

            let client = KubernetesClient(configuration: configuration)
            let refused = await #expect(throws: KubernetesError.self) { _ = try await client.list(ConfigMap.self) }
            #expect(refused?.code == .unauthorized)
            // The token rotates: after the 401 the file is read again.
            try folder.write("token", "test-token\n")
            _ = try await client.list(ConfigMap.self, namespace: "default")
        }

        // MARK: - Exec plugins

        /// A kubeconfig whose user runs `./plugin.sh` (relative to the kubeconfig's folder) with `apiVersion`.
        private func execKubeconfig(_ folder: ScratchFolder, apiVersion: String, user: String) throws -> String {
            try folder.write(
                "kube/config",
                """
                current-context: exec
                clusters:
                - name: k
                  cluster:
                    server: "\(try KubeTestServer.api.absoluteString)"
                    certificate-authority-data: \(try caData())
                users:
                - name: u
                  user:
                    \(user)
                contexts: [{name: exec, context: {cluster: k, user: u, namespace: default}}]
                """)
        }

        /// A plugin that counts its runs in `count`, saves `KUBERNETES_EXEC_INFO` and its argument and env, and
        /// prints the ExecCredential in `credential-N.json` for run N (or `credential.json`).
        private func writePlugin(_ folder: ScratchFolder) throws {
            try folder.write(
                "kube/plugin.sh",
                """
                #!/bin/sh
                here="$(dirname "$0")"
                n=$(( $(cat "$here/count" 2>/dev/null || echo 0) + 1 ))
                echo "$n" > "$here/count"
                printf '%s' "$KUBERNETES_EXEC_INFO" > "$here/exec-info.json"
                echo "$1 $PLUGIN_GREETING" > "$here/seen.txt"
                credential="$here/credential-$n.json"
                [ -f "$credential" ] || credential="$here/credential.json"
                cat "$credential"
                """, executable: true)
        }

        @Test func execPluginTokensAreCachedUntilTheyExpire() async throws {
            let folder = try ScratchFolder()
            defer { folder.remove() }
            try writePlugin(folder)
            let path = try execKubeconfig(
                folder, apiVersion: "v1",
                user: """
                    exec:
                          apiVersion: client.authentication.k8s.io/v1
                          command: ./plugin.sh
                          args: [hello]
                          env: [{name: PLUGIN_GREETING, value: world}]
                          interactiveMode: Never
                          provideClusterInfo: true
                    """)
            try folder.write(
                "kube/credential.json",
                """
                {"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",
                 "status":{"token":"test-token","expirationTimestamp":"2030-01-01T00:00:00Z"}}
                """)
            let now = Mutex(Date(timeIntervalSince1970: 1_800_000_000))  // 2027
            let client = KubernetesClient(
                configuration: try .resolve(kubeconfig: [path]), now: { now.withLock { $0 } })
            for _ in 0..<3 { _ = try await client.list(ConfigMap.self) }
            #expect(folder.read("kube/count") == "1\n", "one run for three requests")
            #expect(await client.credentialPluginRuns == 1)
            #expect(folder.read("kube/seen.txt") == "hello world\n")
            let info = try JSONDecoder().decode(
                JSONValue.self, from: Data((folder.read("kube/exec-info.json") ?? "").utf8))
            #expect(info["apiVersion"] == "client.authentication.k8s.io/v1")
            #expect(info["kind"] == "ExecCredential")
            #expect(info["spec"]?["interactive"] == false)
            #expect(info["spec"]?["cluster"]?["server"] == .string(try KubeTestServer.api.absoluteString))

            // Past the expiration, the plugin runs again.
            now.withLock { $0 = Date(timeIntervalSince1970: 1_900_000_000) }  // 2030-03
            _ = try await client.list(ConfigMap.self)
            #expect(folder.read("kube/count") == "2\n")
        }

        @Test func aRefusedExecTokenIsFetchedAgainOnce() async throws {
            let folder = try ScratchFolder()
            defer { folder.remove() }
            try writePlugin(folder)
            let path = try execKubeconfig(
                folder, apiVersion: "v1beta1",
                user: """
                    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: ./plugin.sh}
                    """)
            let credential = { (token: String) in
                #"{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","#
                    + #""status":{"token":"\#(token)"}}"#
            }
            try folder.write("kube/credential-1.json", credential("revoked"))
            try folder.write("kube/credential.json", credential("test-token"))
            let client = KubernetesClient(configuration: try .resolve(kubeconfig: [path]))
            _ = try await client.list(ConfigMap.self)
            #expect(folder.read("kube/count") == "2\n", "run again after the 401")
            #expect(client.requests.byOperation["list configmaps"] == 2)
        }

        @Test func execPluginClientCertificates() async throws {
            let folder = try ScratchFolder()
            defer { folder.remove() }
            try writePlugin(folder)
            let path = try execKubeconfig(
                folder, apiVersion: "v1beta1",
                user: """
                    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: ./plugin.sh}
                    """)
            let tls = try KubeTestServer.tlsDirectory
            struct Output: Encodable {
                struct Status: Encodable {
                    var clientCertificateData: String
                    var clientKeyData: String
                }
                var apiVersion = "client.authentication.k8s.io/v1beta1"
                var kind = "ExecCredential"
                var status: Status
            }
            let output = Output(
                status: .init(
                    clientCertificateData: try String(contentsOfFile: tls + "/client.pem", encoding: .utf8),
                    clientKeyData: try String(contentsOfFile: tls + "/client-key.pem", encoding: .utf8)))
            try folder.write("kube/credential.json", String(decoding: try JSONEncoder().encode(output), as: UTF8.self))
            let client = KubernetesClient(configuration: try .resolve(kubeconfig: [path]))
            _ = try await client.list(ConfigMap.self)
            _ = try await client.list(ConfigMap.self)
            #expect(folder.read("kube/count") == "1\n")
        }

        @Test func aBrokenPluginSaysWhatToInstall() async throws {
            let folder = try ScratchFolder()
            defer { folder.remove() }
            try folder.write("kube/fail.sh", "#!/bin/sh\necho 'no session' >&2\nexit 3\n", executable: true)
            let path = try execKubeconfig(
                folder, apiVersion: "v1",
                user: """
                    exec:
                          apiVersion: client.authentication.k8s.io/v1
                          command: ./fail.sh
                          installHint: install the fail tool
                          interactiveMode: Never
                    """)
            let client = KubernetesClient(configuration: try .resolve(kubeconfig: [path]))
            let error = await #expect(throws: KubernetesError.self) { _ = try await client.list(ConfigMap.self) }
            #expect(error?.code == .credentialPlugin)
            #expect(error?.description.contains("no session") == true)
            #expect(error?.description.contains("install the fail tool") == true)
        }
    }
}
