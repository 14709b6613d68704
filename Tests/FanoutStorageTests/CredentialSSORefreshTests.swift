import Crypto
import FanoutSigV4
import Foundation
import Testing

@testable import FanoutStorage

@Suite("SSO token refresh through SSO-OIDC, against loopback servers, with botocore as the oracle")
struct CredentialSSORefreshTests {
    static let config = """
        [profile dev]
        sso_session = corp
        sso_account_id = 111122223333
        sso_role_name = Developer
        [sso-session corp]
        sso_start_url = https://corp.awsapps.com/start
        sso_region = eu-west-1
        """

    /// The cache file of session `corp`, as `aws sso login` leaves it: a token expiring in `expiresIn` seconds
    /// and the client registration that refreshes it.
    /// One registration expiry for every cache file a test writes, so that what each client writes back can be
    /// compared.
    static let registrationExpiresAt = Date().addingTimeInterval(86400).formatted(.iso8601)

    static func writeCache(expiresIn: TimeInterval, in home: CredentialTempDirectory) throws -> String {
        let digest = Insecure.SHA1.hash(data: Data("corp".utf8)).map { String(format: "%02x", $0) }.joined()
        let token = SSOCachedToken(
            startUrl: "https://corp.awsapps.com/start", region: "eu-west-1", accessToken: "old-access-token",
            expiresAt: Date().addingTimeInterval(expiresIn).formatted(.iso8601), clientId: "client-id",
            clientSecret: "client-secret", registrationExpiresAt: registrationExpiresAt,
            refreshToken: "refresh-1")
        return try home.write(
            ".aws/sso/cache/\(digest).json", String(decoding: try JSONEncoder().encode(token), as: UTF8.self))
    }

    static func readCache(_ path: String) throws -> SSOCachedToken {
        try JSONDecoder().decode(SSOCachedToken.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    static func variables(portal: AWSMetadataTestServer, oidc: SSOOIDCTestServer) -> [String: String] {
        [
            "AWS_PROFILE": "dev", "AWS_ENDPOINT_URL_SSO": portal.ssoEndpoint.absoluteString,
            "AWS_ENDPOINT_URL_SSO_OIDC": oidc.endpoint.absoluteString,
        ]
    }

    @Test func expiredTokenIsRefreshedWrittenBackAndBotocoreDoesTheSame() async throws {
        let portal = try AWSMetadataTestServer()
        let oidc = try SSOOIDCTestServer()
        try await oidc.configure(SSOOIDCTestServer.Grant())
        try await portal.configureSSO(token: "refreshed-access-token")
        let variables = Self.variables(portal: portal, oidc: oidc)

        let home = try CredentialTempDirectory()
        try home.write(".aws/config", Self.config)
        let cacheFile = try Self.writeCache(expiresIn: -60, in: home)
        let (credentials, provider) = try await CredentialProviderChain.default(
            environment: AWSEnvironment(variables: variables, homeDirectory: home.path)
        ).resolve()
        #expect(provider is SSOCredentialProvider)
        #expect(credentials.accessKeyID.hasPrefix("ASIA"))
        let written = try Self.readCache(cacheFile)
        #expect(written.accessToken == "refreshed-access-token")
        #expect(written.refreshToken == "refresh-2")
        #expect(written.clientId == "client-id")
        #expect(written.startUrl == "https://corp.awsapps.com/start")
        let expiry = try #require(written.expiration)
        #expect(abs(expiry.timeIntervalSinceNow - 3600) < 120)
        let permissions = try FileManager.default.attributesOfItem(atPath: cacheFile)[.posixPermissions] as? Int
        #expect(permissions == 0o600)

        let botocoreHome = try CredentialTempDirectory()
        try botocoreHome.write(".aws/config", Self.config)
        let botocoreCacheFile = try Self.writeCache(expiresIn: -60, in: botocoreHome)
        let botocore = try await BotocoreCredentialOracle.resolve(variables: variables, home: botocoreHome.path)
        #expect(botocore.method == "sso")
        #expect(botocore.error == nil)
        let botocoreWritten = try Self.readCache(botocoreCacheFile)
        #expect(botocoreWritten.accessToken == written.accessToken)
        #expect(botocoreWritten.refreshToken == written.refreshToken)
        #expect(botocoreWritten.registrationExpiresAt.flatMap(WebIdentityCredentialProvider.parseTimestamp)
            == written.registrationExpiresAt.flatMap(WebIdentityCredentialProvider.parseTimestamp))

        let refreshes = try await oidc.requests()
        try #require(refreshes.count == 2)
        #expect(refreshes[0] == refreshes[1])
        #expect(refreshes[0].method == "POST")
        #expect(refreshes[0].path == "/oidc/\(oidc.name)/token")
        #expect(refreshes[0].signed == false)
        #expect(refreshes[0].contentType?.hasPrefix("application/json") == true)
        #expect(
            refreshes[0].body
                == [
                    "grantType": "refresh_token", "clientId": "client-id", "clientSecret": "client-secret",
                    "refreshToken": "refresh-1",
                ])
        let roleRequests = try await portal.requests()
        #expect(roleRequests.count == 2)
        #expect(roleRequests.allSatisfy { $0.headers["x-amz-sso_bearer_token"] == "refreshed-access-token" })
    }

    @Test func refusedRefreshSaysToLogInAndKeepsTheCache() async throws {
        let portal = try AWSMetadataTestServer()
        let oidc = try SSOOIDCTestServer()
        var grant = SSOOIDCTestServer.Grant()
        grant.refreshToken = "a-newer-refresh-token"
        try await oidc.configure(grant)
        let home = try CredentialTempDirectory()
        try home.write(".aws/config", Self.config)
        let cacheFile = try Self.writeCache(expiresIn: -60, in: home)
        let before = try Data(contentsOf: URL(fileURLWithPath: cacheFile))

        let chain = CredentialProviderChain.default(
            environment: AWSEnvironment(
                variables: Self.variables(portal: portal, oidc: oidc), homeDirectory: home.path))
        let error = try await #require(throws: CredentialError.self) { try await chain.credentials() }
        #expect(error.message.contains("has expired and could not be refreshed"))
        #expect(error.message.contains("invalid_grant"))
        #expect(error.message.hasSuffix("run `aws sso login --profile dev`"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: cacheFile)) == before)
        #expect(try await oidc.requests().count == 1)
        #expect(try await portal.requests().isEmpty)
    }

    /// Within 15 minutes of expiry a refresh is tried and, refused, the old token still serves; further from
    /// expiry none is tried.
    @Test(arguments: [(600.0, "another-secret", 1), (3600.0, "client-secret", 0)])
    func anUnexpiredTokenServesWhenNotRefreshed(expiresIn: TimeInterval, serverSecret: String, refreshes: Int)
        async throws
    {
        let portal = try AWSMetadataTestServer()
        let oidc = try SSOOIDCTestServer()
        var grant = SSOOIDCTestServer.Grant()
        grant.clientSecret = serverSecret
        try await oidc.configure(grant)
        try await portal.configureSSO(token: "old-access-token")
        let home = try CredentialTempDirectory()
        try home.write(".aws/config", Self.config)
        _ = try Self.writeCache(expiresIn: expiresIn, in: home)

        let provider = SSOCredentialProvider(
            environment: AWSEnvironment(
                variables: Self.variables(portal: portal, oidc: oidc), homeDirectory: home.path))
        let credentials = try #require(try await provider.credentials())
        #expect(credentials.accessKeyID.hasPrefix("ASIA"))
        #expect(try await oidc.requests().count == refreshes)
        #expect(try await portal.requests().map { $0.headers["x-amz-sso_bearer_token"] } == ["old-access-token"])
    }
}
