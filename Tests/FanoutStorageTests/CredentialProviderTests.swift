import FanoutSigV4
import Foundation
import Testing

@testable import FanoutStorage

@Suite("Static, environment and profile credential providers")
struct CredentialProviderTests {
    @Test func staticProviderReturnsItsCredentials() async throws {
        let provider = StaticCredentialProvider(accessKeyID: "AKID", secretAccessKey: "SECRET", sessionToken: "T")
        let credentials = try await provider.credentials()
        #expect(credentials == AWSCredentials(accessKeyID: "AKID", secretAccessKey: "SECRET", sessionToken: "T"))
    }

    @Test func environmentProviderReadsTheThreeVariables() async throws {
        let provider = EnvironmentCredentialProvider(variables: [
            "AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": " envsecret ", "AWS_SESSION_TOKEN": "envtoken",
        ])
        let credentials = try #require(try await provider.credentials())
        #expect(credentials.accessKeyID == "AKIAENV")
        #expect(credentials.secretAccessKey == "envsecret")
        #expect(credentials.sessionToken == "envtoken")
        #expect(credentials.expiration == nil)
    }

    @Test func environmentProviderIsNotConfiguredWithoutKeys() async throws {
        #expect(try await EnvironmentCredentialProvider(variables: [:]).credentials() == nil)
        let blank = EnvironmentCredentialProvider(variables: ["AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": " "])
        #expect(try await blank.credentials() == nil)
    }

    @Test func environmentProviderRejectsHalfAKeyPair() async throws {
        let provider = EnvironmentCredentialProvider(variables: ["AWS_ACCESS_KEY_ID": "AKIAENV"])
        let error = try await #require(throws: CredentialError.self) { try await provider.credentials() }
        #expect(error.code == .incompleteCredentials)
        #expect(error.message.contains("AWS_SECRET_ACCESS_KEY is not"))
    }

    @Test func profileProviderReadsTheDefaultProfileOfTheCredentialsFile() async throws {
        let home = try CredentialTempDirectory()
        try home.write(
            ".aws/credentials",
            "[other]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = o\n"
                + "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = d\naws_session_token = dt\n")
        let provider = ProfileCredentialProvider(environment: AWSEnvironment(variables: [:], homeDirectory: home.path))
        let credentials = try #require(try await provider.credentials())
        #expect(credentials == AWSCredentials(accessKeyID: "AKIADEFAULT", secretAccessKey: "d", sessionToken: "dt"))
    }

    @Test func profileProviderReadsANamedProfileOfTheConfigFile() async throws {
        let home = try CredentialTempDirectory()
        try home.write(
            ".aws/config",
            "[default]\nregion = us-east-1\n[profile x]\naws_access_key_id = AKIACONFIGX\naws_secret_access_key = cx\n")
        let environment = AWSEnvironment(variables: ["AWS_PROFILE": "x"], homeDirectory: home.path)
        let credentials = try #require(try await ProfileCredentialProvider(environment: environment).credentials())
        #expect(credentials.accessKeyID == "AKIACONFIGX")
        #expect(credentials.secretAccessKey == "cx")
    }

    @Test func credentialsFileTakesPrecedenceOverConfigFile() async throws {
        let home = try CredentialTempDirectory()
        try home.write(".aws/credentials", "[x]\naws_access_key_id = AKIAFROMCREDS\naws_secret_access_key = c\n")
        try home.write(".aws/config", "[profile x]\naws_access_key_id = AKIAFROMCONFIG\naws_secret_access_key = k\n")
        let environment = AWSEnvironment(variables: [:], homeDirectory: home.path, profile: "x")
        let credentials = try #require(try await ProfileCredentialProvider(environment: environment).credentials())
        #expect(credentials.accessKeyID == "AKIAFROMCREDS")
    }

    @Test func fileLocationsComeFromTheEnvironment() async throws {
        let home = try CredentialTempDirectory()
        try home.write("elsewhere/creds", "[default]\naws_access_key_id = AKIAMOVED\naws_secret_access_key = m\n")
        try home.write(".aws/credentials", "[default]\naws_access_key_id = AKIAHOME\naws_secret_access_key = h\n")
        let environment = AWSEnvironment(
            variables: ["AWS_SHARED_CREDENTIALS_FILE": "~/elsewhere/creds", "AWS_CONFIG_FILE": "~/nothing"],
            homeDirectory: home.path)
        #expect(environment.credentialsFilePath == home.path + "/elsewhere/creds")
        let credentials = try #require(try await ProfileCredentialProvider(environment: environment).credentials())
        #expect(credentials.accessKeyID == "AKIAMOVED")
    }

    @Test func absentDefaultProfileIsNotConfiguredButAbsentChosenProfileIsAnError() async throws {
        let home = try CredentialTempDirectory()
        try home.write(".aws/config", "[profile dev]\nregion = eu-west-1\n")
        let defaulted = ProfileCredentialProvider(environment: AWSEnvironment(variables: [:], homeDirectory: home.path))
        #expect(try await defaulted.credentials() == nil)
        let regionOnly = ProfileCredentialProvider(
            environment: AWSEnvironment(variables: ["AWS_PROFILE": "dev"], homeDirectory: home.path))
        #expect(try await regionOnly.credentials() == nil)

        let chosen = ProfileCredentialProvider(
            environment: AWSEnvironment(variables: ["AWS_PROFILE": "prod"], homeDirectory: home.path))
        let error = try await #require(throws: CredentialError.self) { try await chosen.credentials() }
        #expect(error.code == .profileNotFound)
        #expect(error.message.contains("'prod'"))
        #expect(error.message.contains(home.path + "/.aws/config"))
    }

    @Test func profileWithHalfAKeyPairIsAnError() async throws {
        let home = try CredentialTempDirectory()
        try home.write(".aws/credentials", "[default]\naws_access_key_id = AKIAHALF\n")
        let provider = ProfileCredentialProvider(environment: AWSEnvironment(variables: [:], homeDirectory: home.path))
        let error = try await #require(throws: CredentialError.self) { try await provider.credentials() }
        #expect(error.code == .incompleteCredentials)
        #expect(error.message.contains("no aws_secret_access_key"))
        #expect(error.message.contains(home.path + "/.aws/credentials"))
    }

    @Test func ssoProfileWithoutALoginSaysToLogIn() async throws {
        let home = try CredentialTempDirectory()
        try home.write(
            ".aws/config",
            "[profile sso]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = r\n"
                + "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n")
        let provider = ProfileCredentialProvider(
            environment: AWSEnvironment(variables: [:], homeDirectory: home.path, profile: "sso"))
        let error = try await #require(throws: CredentialError.self) { try await provider.credentials() }
        #expect(error.code == .unreadableFile)
        #expect(error.message.contains("aws sso login --profile sso"))
    }

    @Test func webIdentityProfileWithoutRoleIsAnError() async throws {
        let home = try CredentialTempDirectory()
        try home.write(".aws/config", "[default]\nweb_identity_token_file = /var/run/token\n")
        let provider = WebIdentityCredentialProvider(
            environment: AWSEnvironment(variables: [:], homeDirectory: home.path))
        let error = try await #require(throws: CredentialError.self) { try await provider.credentials() }
        #expect(error.code == .incompleteCredentials)
        #expect(error.message.contains("role_arn"))
    }
}
