import Crypto
import FanoutSigV4
import Foundation
import Testing

@testable import FanoutStorage

@Suite("IAM Identity Center (SSO) profiles against a loopback portal, with botocore as the oracle")
struct CredentialSSOTests {
    /// Writes the token cache `aws sso login` leaves, under the SHA-1 of `key`.
    static func cacheToken(_ token: String, key: String, expiresIn: TimeInterval, in home: CredentialTempDirectory)
        throws
    {
        let digest = Insecure.SHA1.hash(data: Data(key.utf8)).map { String(format: "%02x", $0) }.joined()
        let expiresAt = Date().addingTimeInterval(expiresIn).formatted(.iso8601)
        try home.write(
            ".aws/sso/cache/\(digest).json",
            #"{"accessToken": "\#(token)", "expiresAt": "\#(expiresAt)", "region": "eu-west-1", "startUrl": "u"}"#)
    }

    static let config = """
        [profile dev]
        sso_session = corp
        sso_account_id = 111122223333
        sso_role_name = Developer
        [profile legacy]
        sso_start_url = https://legacy.awsapps.com/start
        sso_region = eu-west-1
        sso_account_id = 111122223333
        sso_role_name = ReadOnly
        [sso-session corp]
        sso_start_url = https://corp.awsapps.com/start
        sso_region = eu-west-1
        """

    @Test(arguments: [("dev", "corp", "Developer"), ("legacy", "https://legacy.awsapps.com/start", "ReadOnly")])
    func cachedTokenBuysRoleCredentialsAndBotocoreAgrees(profile: String, cacheKey: String, role: String)
        async throws
    {
        let server = try AWSMetadataTestServer()
        try await server.configureSSO(token: "sso-access-token")
        let home = try CredentialTempDirectory()
        try home.write(".aws/config", Self.config)
        try Self.cacheToken("sso-access-token", key: cacheKey, expiresIn: 3600, in: home)
        let variables = ["AWS_PROFILE": profile, "AWS_ENDPOINT_URL_SSO": server.ssoEndpoint.absoluteString]
        let (credentials, provider) = try await CredentialProviderChain.default(
            environment: AWSEnvironment(variables: variables, homeDirectory: home.path)
        ).resolve()
        #expect(provider is SSOCredentialProvider)
        #expect(credentials.accessKeyID.hasPrefix("ASIA"))
        let expiration = try #require(credentials.expiration)
        #expect(abs(expiration.timeIntervalSinceNow - 3600) < 120)

        let botocore = try await BotocoreCredentialOracle.resolve(variables: variables, home: home.path)
        #expect(botocore.method == "sso")
        #expect(botocore.error == nil)

        let requests = try await server.requests()
        try #require(requests.count == 2)
        for request in requests {
            #expect(request.method == "GET")
            #expect(request.headers["x-amz-sso_bearer_token"] == "sso-access-token")
            #expect(request.path.hasPrefix("/sso/\(server.name)/federation/credentials?"))
            #expect(request.path.contains("role_name=\(role)"))
            #expect(request.path.contains("account_id=111122223333"))
        }
    }

    @Test func expiredTokenSaysToLogIn() async throws {
        let server = try AWSMetadataTestServer()
        let home = try CredentialTempDirectory()
        try home.write(".aws/config", Self.config)
        try Self.cacheToken("old", key: "https://legacy.awsapps.com/start", expiresIn: -60, in: home)
        let variables = ["AWS_PROFILE": "legacy", "AWS_ENDPOINT_URL_SSO": server.ssoEndpoint.absoluteString]
        let chain = CredentialProviderChain.default(
            environment: AWSEnvironment(variables: variables, homeDirectory: home.path))
        let error = try await #require(throws: CredentialError.self) { try await chain.credentials() }
        #expect(error.message.contains("has expired: run `aws sso login --profile legacy`"))
        let botocore = try await BotocoreCredentialOracle.resolve(variables: variables, home: home.path)
        #expect(botocore.error?.contains("expired") == true)
        #expect(try await server.requests().isEmpty)
    }
}
