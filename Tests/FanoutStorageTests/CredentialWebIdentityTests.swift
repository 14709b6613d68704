import FanoutHTTP
import FanoutSigV4
import Foundation
import Testing

@testable import FanoutStorage

@Suite("Web identity credentials against moto's STS", .serialized, .credentialMotoServer)
struct CredentialWebIdentityTests {
    static let roleARN = "arn:aws:iam::123456789012:role/fanout-test"

    var moto: CredentialMotoServer {
        get throws { try #require(CredentialMotoServer.current, "the suite's moto server is missing") }
    }

    @Test func environmentWebIdentityGetsTemporaryCredentials() async throws {
        let home = try CredentialTempDirectory()
        let tokenFile = try home.write("token", "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl\n")
        let environment = AWSEnvironment(
            variables: [
                "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": Self.roleARN,
                "AWS_ROLE_SESSION_NAME": "fanout-tests", "AWS_ENDPOINT_URL_STS": try moto.endpoint.absoluteString,
            ],
            homeDirectory: home.path)
        // Through the whole default chain: nothing else is configured, so web identity answers.
        let credentials = try #require(
            try await CredentialProviderChain.default(environment: environment).credentials())
        #expect(credentials.accessKeyID.hasPrefix("ASIA"))
        #expect(!credentials.secretAccessKey.isEmpty)
        #expect(credentials.sessionToken?.isEmpty == false)
        let expiration = try #require(credentials.expiration)
        #expect(expiration > Date().addingTimeInterval(50 * 60))
        #expect(expiration < Date().addingTimeInterval(70 * 60))
    }

    @Test func configProfileWebIdentityGetsTemporaryCredentials() async throws {
        let home = try CredentialTempDirectory()
        try home.write("tokens/ci", "token-from-profile")
        try home.write(
            ".aws/config",
            """
            [profile ci]
            role_arn = \(Self.roleARN)
            web_identity_token_file = ~/tokens/ci
            role_session_name = ci-session
            region = eu-west-1
            """)
        let environment = AWSEnvironment(
            variables: ["AWS_PROFILE": "ci", "AWS_ENDPOINT_URL": try moto.endpoint.absoluteString],
            homeDirectory: home.path)
        let (credentials, provider) = try await CredentialProviderChain.default(environment: environment).resolve()
        #expect(provider is WebIdentityCredentialProvider)
        #expect(!credentials.accessKeyID.isEmpty)
        #expect(credentials.sessionToken?.isEmpty == false)
        #expect(credentials.expiration != nil)
    }

    @Test func tokenFileIsReadOnEveryRefresh() async throws {
        let home = try CredentialTempDirectory()
        let tokenFile = try home.write("token", "first-token")
        let provider = WebIdentityCredentialProvider(
            .init(roleARN: Self.roleARN, tokenFile: tokenFile, stsEndpoint: try moto.endpoint))
        let clock = CredentialTestClock(Date())
        let cache = ExpiringCredentials(provider: provider, now: { clock.now })

        let first = try #require(try await cache.credentials())
        #expect(try await cache.credentials() == first)

        try FileManager.default.removeItem(atPath: tokenFile)
        clock.advance(by: 2 * 3600)
        let error = try await #require(throws: CredentialError.self) { try await cache.credentials() }
        #expect(error.code == .unreadableFile)
        #expect(error.message.contains(tokenFile))

        try home.write("token", "rotated-token")
        let second = try #require(try await cache.credentials())
        #expect(second.accessKeyID != first.accessKeyID)
    }

    @Test func nonSTSAnswerIsAClearError() async throws {
        let home = try CredentialTempDirectory()
        let tokenFile = try home.write("token", "t")
        let endpoint = try moto.endpoint.appendingPathComponent("not-sts/deeper")
        let provider = WebIdentityCredentialProvider(
            .init(roleARN: Self.roleARN, tokenFile: tokenFile, stsEndpoint: endpoint))
        let error = try await #require(throws: CredentialError.self) { try await provider.credentials() }
        #expect(error.code == .stsRejected)
        #expect(error.message.contains("HTTP 404"))
        #expect(error.message.contains(Self.roleARN))
        #expect(error.message.contains(endpoint.absoluteString))
    }
}

@Suite("Web identity without a server")
struct CredentialWebIdentityOfflineTests {
    static let endpoint = URL(string: "https://sts.eu-west-1.amazonaws.com")!

    @Test func stsErrorDocumentBecomesAClearError() throws {
        let body = """
            <ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
              <Error>
                <Type>Sender</Type>
                <Code>InvalidIdentityToken</Code>
                <Message>Couldn&apos;t retrieve verification key from your identity provider</Message>
              </Error>
              <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>
            </ErrorResponse>
            """
        let error = try #require(throws: CredentialError.self) {
            try WebIdentityCredentialProvider.parseResponse(
                status: 400, body: body, roleARN: "arn:aws:iam::1:role/r", endpoint: Self.endpoint)
        }
        #expect(error.code == .stsRejected)
        #expect(error.message.contains("HTTP 400, InvalidIdentityToken: Couldn't retrieve verification key"))
        #expect(error.message.contains("arn:aws:iam::1:role/r"))
        #expect(error.message.contains("trust policy"))
    }

    @Test func successDocumentParses() throws {
        let body = """
            <AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
              <AssumeRoleWithWebIdentityResult>
                <Credentials>
                  <SessionToken>AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE</SessionToken>
                  <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
                  <Expiration>2014-10-24T23:00:23Z</Expiration>
                  <AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</AccessKeyId>
                </Credentials>
              </AssumeRoleWithWebIdentityResult>
            </AssumeRoleWithWebIdentityResponse>
            """
        let credentials = try WebIdentityCredentialProvider.parseResponse(
            status: 200, body: body, roleARN: "r", endpoint: Self.endpoint)
        #expect(credentials.accessKeyID == "ASgeIAIOSFODNN7EXAMPLE")
        #expect(credentials.secretAccessKey == "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY")
        #expect(credentials.sessionToken == "AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE")
        #expect(credentials.expiration == Date(timeIntervalSince1970: 1_414_191_623))
        #expect(
            WebIdentityCredentialProvider.parseTimestamp("2014-10-24T23:00:23.500Z")
                == Date(timeIntervalSince1970: 1_414_191_623.5))
    }

    @Test func missingTokenFileIsNamed() async throws {
        let home = try CredentialTempDirectory()
        let provider = WebIdentityCredentialProvider(
            .init(roleARN: "arn:aws:iam::1:role/r", tokenFile: home.path + "/no-token", stsEndpoint: Self.endpoint))
        let error = try await #require(throws: CredentialError.self) { try await provider.credentials() }
        #expect(error.code == .unreadableFile)
        #expect(error.message.contains(home.path + "/no-token"))
        #expect(error.underlyingError != nil)
    }

    @Test func environmentConfiguration() throws {
        #expect(try WebIdentityCredentialProvider(environment: AWSEnvironment(variables: [:])).configuration() == nil)
        let incomplete = WebIdentityCredentialProvider(
            environment: AWSEnvironment(variables: ["AWS_WEB_IDENTITY_TOKEN_FILE": "/t"], homeDirectory: "/h"))
        let error = try #require(throws: CredentialError.self) { try incomplete.configuration() }
        #expect(error.message.contains("AWS_ROLE_ARN is not"))

        let configured = WebIdentityCredentialProvider(
            environment: AWSEnvironment(
                variables: [
                    "AWS_WEB_IDENTITY_TOKEN_FILE": "~/t", "AWS_ROLE_ARN": "arn:r", "AWS_ROLE_SESSION_NAME": "s",
                    "AWS_REGION": "eu-west-1",
                ],
                homeDirectory: "/h"))
        #expect(
            try configured.configuration()
                == .init(
                    roleARN: "arn:r", tokenFile: "/h/t", sessionName: "s",
                    stsEndpoint: URL(string: "https://sts.eu-west-1.amazonaws.com")!))
    }

    @Test func unreachableSTSIsAClearError() async throws {
        let home = try CredentialTempDirectory()
        let tokenFile = try home.write("token", "t")
        let provider = WebIdentityCredentialProvider(
            .init(roleARN: "arn:r", tokenFile: tokenFile, stsEndpoint: URL(string: "http://127.0.0.1:1")!),
            httpClient: HTTPClient(configuration: .init(retry: .never)))
        let error = try await #require(throws: CredentialError.self) { try await provider.credentials() }
        #expect(error.code == .stsRequestFailed)
        #expect(error.message.contains("http://127.0.0.1:1"))
        #expect(error.underlyingError is HTTPClientError)
    }
}
