import FanoutHTTP
import FanoutSigV4
import Foundation
import Testing

@testable import FanoutStorage

@Suite("Instance role credentials from IMDSv2 on loopback, with botocore as the oracle")
struct CredentialInstanceMetadataTests {
    @Test func tokenThenRoleThenCredentialsAndBotocoreAgrees() async throws {
        let server = try AWSMetadataTestServer()
        try await server.configureInstance(role: "fanout-node-role")
        let home = try CredentialTempDirectory()
        let variables = ["AWS_EC2_METADATA_SERVICE_ENDPOINT": server.imdsEndpoint.absoluteString]
        let (credentials, provider) = try await CredentialProviderChain.default(
            environment: AWSEnvironment(variables: variables, homeDirectory: home.path)
        ).resolve()
        #expect(provider is InstanceMetadataCredentialProvider)
        #expect(credentials.accessKeyID.hasPrefix("ASIA"))
        #expect(credentials.sessionToken?.hasPrefix("session-token-") == true)
        let expiration = try #require(credentials.expiration)
        #expect(abs(expiration.timeIntervalSinceNow - 3600) < 120)
        let fanoutRequests = try await server.requests()

        let botocore = try await BotocoreCredentialOracle.resolve(variables: variables, home: home.path)
        #expect(botocore.method == "iam-role")
        #expect(botocore.error == nil)
        let botocoreRequests = try await server.requests().dropFirst(fanoutRequests.count)

        let base = "/imds/\(server.name)/latest"
        for requests in [Array(fanoutRequests), Array(botocoreRequests)] {
            try #require(requests.count == 3)
            #expect(requests.map(\.method) == ["PUT", "GET", "GET"])
            #expect(
                requests.map(\.path) == [
                    "\(base)/api/token", "\(base)/meta-data/iam/security-credentials/",
                    "\(base)/meta-data/iam/security-credentials/fanout-node-role",
                ])
            #expect(requests[0].headers["x-aws-ec2-metadata-token-ttl-seconds"] == "21600")
            let token = try #require(requests[1].headers["x-aws-ec2-metadata-token"])
            #expect(!token.isEmpty)
            #expect(requests[2].headers["x-aws-ec2-metadata-token"] == token)
        }
    }

    @Test func disabledServiceIsNotAskedByEither() async throws {
        let server = try AWSMetadataTestServer()
        let home = try CredentialTempDirectory()
        let variables = [
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": server.imdsEndpoint.absoluteString,
            "AWS_EC2_METADATA_DISABLED": "true",
        ]
        let chain = CredentialProviderChain.default(
            environment: AWSEnvironment(variables: variables, homeDirectory: home.path))
        let error = try await #require(throws: CredentialError.self) { try await chain.credentials() }
        #expect(error.code == .noCredentials)
        #expect(try await BotocoreCredentialOracle.resolve(variables: variables, home: home.path).method == nil)
        #expect(try await server.requests().isEmpty)
    }

    @Test func unreachableServiceIsNoCredentialsQuickly() async throws {
        let home = try CredentialTempDirectory()
        // Port 1 on loopback refuses connections: the provider answers nil, and the chain says what it searched.
        let chain = CredentialProviderChain.default(
            environment: AWSEnvironment(
                variables: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:1/"], homeDirectory: home.path))
        let error = try await #require(throws: CredentialError.self) { try await chain.credentials() }
        #expect(error.code == .noCredentials)
        #expect(error.message.contains("instance metadata"))
    }

    @Test func serviceWithoutARoleIsNoCredentials() async throws {
        // An endpoint that answers 404 to every request: the token request is taken as IMDSv1, the role name is
        // missing, and the provider answers nil rather than throwing.
        let server = try AWSMetadataTestServer()
        let endpoint = server.base.appendingPathComponent("no-such-service/")
        let provider = InstanceMetadataCredentialProvider(.init(endpoint: endpoint))
        #expect(try await provider.credentials() == nil)
    }

    @Test func environmentConfiguration() throws {
        let defaults = try #require(
            try InstanceMetadataCredentialProvider(environment: AWSEnvironment(variables: [:])).configuration())
        #expect(defaults == .init())
        #expect(defaults.endpoint.absoluteString == "http://169.254.169.254/")
        #expect(defaults.timeout == .seconds(1))
        #expect(defaults.attempts == 1)
        let ipv6 = InstanceMetadataCredentialProvider(
            environment: AWSEnvironment(variables: ["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv6"]))
        #expect(try ipv6.configuration()?.endpoint.absoluteString == "http://[fd00:ec2::254]/")
        let tuned = InstanceMetadataCredentialProvider(
            environment: AWSEnvironment(variables: [
                "AWS_METADATA_SERVICE_TIMEOUT": "2.5", "AWS_METADATA_SERVICE_NUM_ATTEMPTS": "3",
            ]))
        #expect(try tuned.configuration()?.timeout == .milliseconds(2500))
        #expect(try tuned.configuration()?.attempts == 3)
        let disabled = InstanceMetadataCredentialProvider(
            environment: AWSEnvironment(variables: ["AWS_EC2_METADATA_DISABLED": "TRUE"]))
        #expect(try disabled.configuration() == nil)
        let broken = InstanceMetadataCredentialProvider(
            environment: AWSEnvironment(variables: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": "not a url"]))
        #expect(throws: CredentialError.self) { try broken.configuration() }
    }

    @Test func instanceCredentialsAreRefreshedBeforeTheyExpire() async throws {
        let server = try AWSMetadataTestServer()
        try await server.configureInstance(role: "r", expiresIn: 3600)
        let provider = InstanceMetadataCredentialProvider(.init(endpoint: server.imdsEndpoint))
        let clock = CredentialTestClock(Date())
        let cache = ExpiringCredentials(provider: provider, now: { clock.now })
        let first = try #require(try await cache.credentials())
        #expect(try await cache.credentials() == first)
        clock.advance(by: 3600 - 60)
        let second = try #require(try await cache.credentials())
        #expect(second.accessKeyID != first.accessKeyID)
        #expect(try await server.requests().filter { $0.method == "PUT" }.count == 2)
    }
}
