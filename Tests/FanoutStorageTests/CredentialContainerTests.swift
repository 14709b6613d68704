import FanoutHTTP
import FanoutSigV4
import Foundation
import Testing

@testable import FanoutStorage

@Suite("Container credentials (ECS, EKS Pod Identity) against a loopback endpoint, with botocore as the oracle")
struct CredentialContainerTests {
    @Test func podIdentityTokenFileIsSentAndBotocoreAgrees() async throws {
        let server = try AWSMetadataTestServer()
        try await server.configureContainer(token: "pod-identity-token")
        let home = try CredentialTempDirectory()
        let tokenFile = try home.write("eks-pod-identity-token", "pod-identity-token")
        let variables = [
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.containerURL.absoluteString,
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile,
        ]
        let (credentials, provider) = try await CredentialProviderChain.default(
            environment: AWSEnvironment(variables: variables, homeDirectory: home.path)
        ).resolve()
        #expect(provider is ContainerCredentialProvider)
        #expect(credentials.accessKeyID.hasPrefix("ASIA"))
        #expect(credentials.sessionToken?.hasPrefix("session-token-") == true)
        let expiration = try #require(credentials.expiration)
        #expect(abs(expiration.timeIntervalSinceNow - 3600) < 120)

        let botocore = try await BotocoreCredentialOracle.resolve(variables: variables, home: home.path)
        #expect(botocore.method == "container-role")
        #expect(botocore.error == nil)

        let requests = try await server.requests()
        try #require(requests.count == 2)
        #expect(requests[0].method == "GET")
        #expect(requests[0].headers["authorization"] == "pod-identity-token")
        #expect(requests[0].headers["accept"] == "application/json")
        #expect(requests[1] == requests[0])
    }

    @Test func tokenFileWinsOverTokenVariable() async throws {
        let server = try AWSMetadataTestServer()
        try await server.configureContainer(token: "from-file")
        let home = try CredentialTempDirectory()
        let variables = [
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.containerURL.absoluteString,
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": try home.write("token", "from-file\n"),
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": "from-variable",
        ]
        let provider = ContainerCredentialProvider(
            environment: AWSEnvironment(variables: variables, homeDirectory: home.path))
        #expect(try await provider.credentials() != nil)
        let requests = try await server.requests()
        #expect(requests.map { $0.headers["authorization"] } == ["from-file"])
    }

    @Test func wrongTokenIsRefusedByBoth() async throws {
        let server = try AWSMetadataTestServer()
        try await server.configureContainer(token: "the-right-token")
        let home = try CredentialTempDirectory()
        let variables = [
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.containerURL.absoluteString,
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": "a-wrong-token",
        ]
        let chain = CredentialProviderChain.default(
            environment: AWSEnvironment(variables: variables, homeDirectory: home.path))
        let error = try await #require(throws: CredentialError.self) { try await chain.credentials() }
        #expect(error.code == .metadataRequestFailed)
        #expect(error.message.contains("HTTP 401"))
        #expect(error.message.contains(server.containerURL.absoluteString))

        let botocore = try await BotocoreCredentialOracle.resolve(variables: variables, home: home.path)
        #expect(botocore.method == nil)
        #expect(botocore.error?.contains("401") == true)
        let requests = try await server.requests()
        #expect(!requests.isEmpty)
        #expect(requests.allSatisfy { $0.headers["authorization"] == "a-wrong-token" })
    }

    @Test func hostsThatAreNotAllowedAreRefusedByBoth() async throws {
        let home = try CredentialTempDirectory()
        let variables = ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.169.254/latest/credentials"]
        let chain = CredentialProviderChain.default(
            environment: AWSEnvironment(variables: variables, homeDirectory: home.path))
        let error = try await #require(throws: CredentialError.self) { try await chain.credentials() }
        #expect(error.code == .invalidEndpoint)
        #expect(error.message.contains("'169.254.169.254'"))

        let botocore = try await BotocoreCredentialOracle.resolve(variables: variables, home: home.path)
        #expect(botocore.method == nil)
        #expect(botocore.error?.contains("Unsupported host") == true)
    }

    @Test(arguments: [
        ("http://127.0.0.1:8080/creds", true), ("http://127.1.2.3/creds", true), ("http://[::1]:9/creds", true),
        ("http://localhost/creds", true), ("http://169.254.170.2/v2/credentials/x", true),
        ("http://169.254.170.23/v1/credentials", true), ("http://[fd00:ec2::23]/v1/credentials", true),
        ("https://credentials.example.com/x", true), ("http://credentials.example.com/x", false),
        ("http://169.254.169.254/x", false), ("http://10.0.0.1/x", false), ("ftp://127.0.0.1/x", false),
    ])
    func fullURIHostRule(uri: String, allowed: Bool) {
        #expect(((try? ContainerCredentialProvider.checkedFullURI(uri)) != nil) == allowed)
    }

    @Test func relativeURIIsResolvedAgainstTheECSHostAndWinsOverAFullURI() throws {
        let provider = ContainerCredentialProvider(
            environment: AWSEnvironment(
                variables: [
                    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/0c1d-task",
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:1/ignored",
                ],
                homeDirectory: "/h"))
        let configuration = try #require(try provider.configuration())
        #expect(configuration.url.absoluteString == "http://169.254.170.2/v2/credentials/0c1d-task")
        #expect(configuration.authorizationToken == nil)
        #expect(configuration.authorizationTokenFile == nil)
        #expect(try ContainerCredentialProvider(environment: AWSEnvironment(variables: [:])).configuration() == nil)
    }

    @Test func profileAndEnvironmentComeFirstForBoth() async throws {
        let server = try AWSMetadataTestServer()
        try await server.configureContainer(token: nil)
        let home = try CredentialTempDirectory()
        try home.write(".aws/credentials", "[default]\naws_access_key_id = AKIAPROFILE\naws_secret_access_key = p\n")
        var variables = ["AWS_CONTAINER_CREDENTIALS_FULL_URI": server.containerURL.absoluteString]
        let fromProfile = try await CredentialProviderChain.default(
            environment: AWSEnvironment(variables: variables, homeDirectory: home.path)
        ).resolve()
        #expect(fromProfile.provider is ProfileCredentialProvider)
        #expect(try await BotocoreCredentialOracle.resolve(variables: variables, home: home.path).method
            == "shared-credentials-file")

        variables["AWS_ACCESS_KEY_ID"] = "AKIAENV"
        variables["AWS_SECRET_ACCESS_KEY"] = "e"
        let fromEnvironment = try await CredentialProviderChain.default(
            environment: AWSEnvironment(variables: variables, homeDirectory: home.path)
        ).resolve()
        #expect(fromEnvironment.provider is EnvironmentCredentialProvider)
        #expect(try await BotocoreCredentialOracle.resolve(variables: variables, home: home.path).method == "env")
        #expect(try await server.requests().isEmpty)
    }

    @Test func credentialsAreRefreshedOnceBeforeTheyExpire() async throws {
        let server = try AWSMetadataTestServer()
        try await server.configureContainer(token: "t")
        let home = try CredentialTempDirectory()
        let provider = ContainerCredentialProvider(
            .init(url: server.containerURL, authorizationTokenFile: try home.write("token", "t")))
        let clock = CredentialTestClock(Date())
        let cache = ExpiringCredentials(provider: provider, now: { clock.now })

        let first = try #require(try await cache.credentials())
        #expect(try await cache.credentials() == first)
        #expect(try await server.requests().count == 1)

        // Within the five-minute margin before expiry: the next callers share one refresh.
        clock.advance(by: 3600 - 200)
        let refreshed = try await withThrowingTaskGroup(of: AWSCredentials?.self) { group in
            for _ in 0..<4 { group.addTask { try await cache.credentials() } }
            return try await group.reduce(into: [AWSCredentials?]()) { $0.append($1) }
        }
        #expect(Set(refreshed.map { $0?.accessKeyID }).count == 1)
        #expect(refreshed.first??.accessKeyID != first.accessKeyID)
        #expect(try await server.requests().count == 2)
    }
}
