import FanoutSigV4
import Foundation
import Synchronization
import Testing

@testable import FanoutStorage

@Suite("Credential provider chain")
struct CredentialProviderChainTests {
    /// A provider that records that it was asked.
    final class Recording: AWSCredentialProvider {
        let answer: Result<AWSCredentials?, CredentialError>
        private let calls = Mutex(0)

        init(_ answer: Result<AWSCredentials?, CredentialError>) { self.answer = answer }

        var callCount: Int { calls.withLock { $0 } }

        func credentials() async throws -> AWSCredentials? {
            calls.withLock { $0 += 1 }
            return try answer.get()
        }
    }

    static let environmentKeys = ["AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "e"]
    static let credentialsFile =
        "[default]\naws_access_key_id = AKIAPROFILE\naws_secret_access_key = p\n"
        + "[dev]\naws_access_key_id = AKIADEV\naws_secret_access_key = d\n"

    @Test func explicitCredentialsComeFirst() async throws {
        let home = try CredentialTempDirectory()
        try home.write(".aws/credentials", Self.credentialsFile)
        let chain = CredentialProviderChain.default(
            explicit: AWSCredentials(accessKeyID: "AKIAEXPLICIT", secretAccessKey: "x"),
            environment: AWSEnvironment(variables: Self.environmentKeys, homeDirectory: home.path))
        #expect(try await chain.credentials()?.accessKeyID == "AKIAEXPLICIT")
    }

    @Test func environmentComesBeforeProfileUnlessAProfileIsChosenExplicitly() async throws {
        let home = try CredentialTempDirectory()
        try home.write(".aws/credentials", Self.credentialsFile)
        var variables = Self.environmentKeys
        variables["AWS_PROFILE"] = "dev"
        let viaVariable = CredentialProviderChain.default(
            environment: AWSEnvironment(variables: variables, homeDirectory: home.path))
        #expect(try await viaVariable.credentials()?.accessKeyID == "AKIAENV")

        let viaOption = CredentialProviderChain.default(
            environment: AWSEnvironment(variables: Self.environmentKeys, homeDirectory: home.path, profile: "dev"))
        #expect(try await viaOption.credentials()?.accessKeyID == "AKIADEV")
    }

    @Test func webIdentityFromTheEnvironmentComesBeforeProfileKeysAsInBotocore() async throws {
        let home = try CredentialTempDirectory()
        try home.write(".aws/credentials", Self.credentialsFile)
        // The token file does not exist: reaching web identity throws, naming it.
        let variables = [
            "AWS_WEB_IDENTITY_TOKEN_FILE": home.path + "/missing-token", "AWS_ROLE_ARN": "arn:aws:iam::1:role/r",
        ]
        let chain = CredentialProviderChain.default(
            environment: AWSEnvironment(variables: variables, homeDirectory: home.path))
        let error = try await #require(throws: CredentialError.self) { try await chain.credentials() }
        #expect(error.code == .unreadableFile)
        #expect(error.message.contains(home.path + "/missing-token"))
        // botocore chooses web identity too, and fails reading the same token file.
        let botocore = try await BotocoreCredentialOracle.resolve(variables: variables, home: home.path)
        #expect(botocore.error?.contains(home.path + "/missing-token") == true)

        // A profile named in code (`--profile`) ignores the variables, web identity's included.
        let chosen = CredentialProviderChain.default(
            environment: AWSEnvironment(variables: variables, homeDirectory: home.path, profile: "dev"))
        #expect(try await chosen.credentials()?.accessKeyID == "AKIADEV")
    }

    @Test func loginSessionProfilesAreRefusedWhereBotocoreUsesThem() async throws {
        let home = try CredentialTempDirectory()
        try home.write(".aws/config", "[profile dev]\nlogin_session = arn:aws:iam::1:user/me\nregion = us-east-1\n")
        try home.write(".aws/credentials", "[other]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = o\n")
        let variables = ["AWS_PROFILE": "dev"]
        let chain = CredentialProviderChain.default(
            environment: AWSEnvironment(variables: variables, homeDirectory: home.path))
        let error = try await #require(throws: CredentialError.self) { try await chain.credentials() }
        #expect(error.code == .unsupportedConfiguration)
        #expect(error.message.contains("`aws configure export-credentials --profile dev --format env`"))
        // botocore uses its `login` provider there (or says it lacks the dependency for it): no other provider.
        let botocore = try await BotocoreCredentialOracle.resolve(variables: variables, home: home.path)
        #expect(botocore.method == "login" || botocore.error?.contains("login credential provider") == true)

        // Keys in the credentials file come first, for both.
        try home.write(".aws/credentials", "[dev]\naws_access_key_id = AKIADEV\naws_secret_access_key = d\n")
        #expect(try await chain.credentials()?.accessKeyID == "AKIADEV")
        #expect(try await BotocoreCredentialOracle.resolve(variables: variables, home: home.path).method
            == "shared-credentials-file")
    }

    @Test func webIdentityWithAMissingTokenFileNamesIt() async throws {
        let home = try CredentialTempDirectory()
        let variables = [
            "AWS_WEB_IDENTITY_TOKEN_FILE": home.path + "/missing-token", "AWS_ROLE_ARN": "arn:aws:iam::1:role/r",
        ]
        let chain = CredentialProviderChain.default(
            environment: AWSEnvironment(variables: variables, homeDirectory: home.path))
        let error = try await #require(throws: CredentialError.self) { try await chain.credentials() }
        #expect(error.code == .unreadableFile)
        #expect(error.message.contains(home.path + "/missing-token"))
    }

    @Test func nothingConfiguredSaysWhatToSet() async throws {
        let home = try CredentialTempDirectory()
        let chain = CredentialProviderChain.default(
            environment: AWSEnvironment(variables: [:], homeDirectory: home.path))
        let error = try await #require(throws: CredentialError.self) { try await chain.credentials() }
        #expect(error.code == .noCredentials)
        #expect(
            error.message.hasPrefix(
                "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, "
                    + "or use --anonymous for public buckets"))
        #expect(error.message.contains(home.path + "/.aws/credentials"))
    }

    @Test func aFailingProviderStopsTheChain() async throws {
        let broken = Recording(.failure(CredentialError(code: .unreadableFile, message: "broken")))
        let skipped = Recording(.success(nil))
        let never = Recording(.success(AWSCredentials(accessKeyID: "AKIALATER", secretAccessKey: "l")))
        let chain = CredentialProviderChain([skipped, broken, never])
        let error = try await #require(throws: CredentialError.self) { try await chain.credentials() }
        #expect(error.message == "broken")
        #expect(skipped.callCount == 1)
        #expect(never.callCount == 0)
    }

    @Test func cachedChainAsksProvidersOnceForLongTermCredentials() async throws {
        let first = Recording(.success(nil))
        let second = Recording(.success(AWSCredentials(accessKeyID: "AKIASECOND", secretAccessKey: "s")))
        let cache = ExpiringCredentials(provider: CredentialProviderChain([first, second]))
        #expect(try await cache.credentials()?.accessKeyID == "AKIASECOND")
        #expect(try await cache.credentials()?.accessKeyID == "AKIASECOND")
        #expect(first.callCount == 1)
        #expect(second.callCount == 1)
    }
}
