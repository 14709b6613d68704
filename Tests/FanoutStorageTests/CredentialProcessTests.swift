import FanoutSigV4
import Foundation
import Testing

@testable import FanoutStorage

@Suite("credential_process profiles, with botocore as the oracle")
struct CredentialProcessTests {
    /// A helper program whose path has a space; it records its arguments, one per line, and prints credentials
    /// with a key numbered by how many times it ran.
    static func writeHelper(in home: CredentialTempDirectory, expiresIn: Int = 3600, status: Int = 0) throws -> String {
        let path = try home.write(
            "bin/cred helper",
            """
            #!/bin/sh
            dir="$(dirname "$0")"
            printf '%s\\n' "$@" > "$dir/args-$(ls "$dir" | grep -c '^args-')"
            n="$(ls "$dir" | grep -c '^args-')"
            if [ \(status) -ne 0 ]; then echo "vault is locked" >&2; exit \(status); fi
            expiration="$(date -u -d "+\(expiresIn) seconds" +%Y-%m-%dT%H:%M:%SZ)"
            printf '{"Version": 1, "AccessKeyId": "AKIAPROCESS%s", "SecretAccessKey": "s", "SessionToken": "t", ' "$n"
            printf '"Expiration": "%s"}\\n' "$expiration"
            """)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    static func recordedArguments(in home: CredentialTempDirectory) throws -> [[String]] {
        let directory = home.path + "/bin"
        return try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("args-") }.sorted()
            .map { name in
                try String(contentsOfFile: directory + "/" + name, encoding: .utf8)
                    .split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
            }
    }

    @Test func processIsRunWithoutAShellAndBotocoreAgrees() async throws {
        let home = try CredentialTempDirectory()
        let helper = try Self.writeHelper(in: home)
        try home.write(
            ".aws/config",
            """
            [profile vault]
            credential_process = "\(helper)" --label 'two words' a\\ b "q\\"uote" $HOME
            """)
        let variables = ["AWS_PROFILE": "vault", "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        let (credentials, provider) = try await CredentialProviderChain.default(
            environment: AWSEnvironment(variables: variables, homeDirectory: home.path)
        ).resolve()
        #expect(provider is ProfileCredentialProvider)
        #expect(credentials.accessKeyID == "AKIAPROCESS1")
        #expect(credentials.sessionToken == "t")
        let expiration = try #require(credentials.expiration)
        #expect(abs(expiration.timeIntervalSinceNow - 3600) < 120)

        let botocore = try await BotocoreCredentialOracle.resolve(variables: variables, home: home.path)
        #expect(botocore.method == "custom-process")
        #expect(botocore.accessKey == "AKIAPROCESS2")

        let arguments = try Self.recordedArguments(in: home)
        try #require(arguments.count == 2)
        #expect(arguments[0] == ["--label", "two words", "a b", "q\"uote", "$HOME"])
        #expect(arguments[1] == arguments[0])
    }

    @Test func credentialsFileKeysComeFirstForBoth() async throws {
        let home = try CredentialTempDirectory()
        let helper = try Self.writeHelper(in: home)
        try home.write(".aws/credentials", "[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = f\n")
        try home.write(".aws/config", "[default]\ncredential_process = '\(helper)'\n")
        let chain = CredentialProviderChain.default(
            environment: AWSEnvironment(variables: [:], homeDirectory: home.path))
        #expect(try await chain.credentials()?.accessKeyID == "AKIAFILE")
        let botocore = try await BotocoreCredentialOracle.resolve(variables: [:], home: home.path)
        #expect(botocore.method == "shared-credentials-file")
        #expect(try Self.recordedArguments(in: home).isEmpty)
    }

    @Test func failingProcessReportsItsStandardError() async throws {
        let home = try CredentialTempDirectory()
        let helper = try Self.writeHelper(in: home, status: 3)
        try home.write(".aws/config", "[default]\ncredential_process = '\(helper)'\n")
        let chain = CredentialProviderChain.default(
            environment: AWSEnvironment(variables: [:], homeDirectory: home.path))
        let error = try await #require(throws: CredentialError.self) { try await chain.credentials() }
        #expect(error.code == .credentialProcessFailed)
        #expect(error.message.contains("exited with status 3: vault is locked"))
        let botocore = try await BotocoreCredentialOracle.resolve(variables: [:], home: home.path)
        #expect(botocore.error?.contains("vault is locked") == true)
    }

    @Test func missingProgramIsAClearError() async throws {
        let provider = ProcessCredentialProvider(
            command: "fanout-no-such-credential-helper --x", profileName: "p", environment: ["PATH": "/nonexistent"])
        let error = try await #require(throws: CredentialError.self) { try await provider.credentials() }
        #expect(error.code == .credentialProcessFailed)
        #expect(error.message.contains("fanout-no-such-credential-helper"))
    }

    @Test func documentsThatAreNotVersionOneAreRefused() throws {
        let versionTwo = Data(#"{"Version": 2, "AccessKeyId": "a", "SecretAccessKey": "s"}"#.utf8)
        let error = try #require(throws: CredentialError.self) {
            try ProcessCredentialProvider.parse(versionTwo, place: "p")
        }
        #expect(error.message.contains("Version 2"))
        let noSecret = Data(#"{"Version": 1, "AccessKeyId": "a"}"#.utf8)
        #expect(throws: CredentialError.self) { try ProcessCredentialProvider.parse(noSecret, place: "p") }
        let permanent = try ProcessCredentialProvider.parse(
            Data(#"{"Version": 1, "AccessKeyId": "a", "SecretAccessKey": "s"}"#.utf8), place: "p")
        #expect(permanent == AWSCredentials(accessKeyID: "a", secretAccessKey: "s"))
    }

    @Test func expiringProcessCredentialsAreFetchedAgainBeforeExpiry() async throws {
        let home = try CredentialTempDirectory()
        let helper = try Self.writeHelper(in: home)
        let provider = ProcessCredentialProvider(command: "'\(helper)'", profileName: "p", environment: [:])
        let clock = CredentialTestClock(Date())
        let cache = ExpiringCredentials(provider: provider, now: { clock.now })
        #expect(try await cache.credentials()?.accessKeyID == "AKIAPROCESS1")
        #expect(try await cache.credentials()?.accessKeyID == "AKIAPROCESS1")
        clock.advance(by: 3600 - 100)
        #expect(try await cache.credentials()?.accessKeyID == "AKIAPROCESS2")
    }

    @Test(arguments: [
        ("a b", ["a", "b"]), (#"a "b c" d"#, ["a", "b c", "d"]), ("'x y' z", ["x y", "z"]), (#"a\ b"#, ["a b"]),
        (#""a\"b\\c\d""#, [#"a"b\c\d"#]), ("''", [""]), (#"a"b"c"#, ["abc"]), ("  ", []),
    ])
    func commandLinesSplitAsShlexDoes(line: String, words: [String]) throws {
        #expect(try ShellWords.split(line) == words)
    }
}
