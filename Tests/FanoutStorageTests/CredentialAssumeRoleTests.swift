import FanoutSigV4
import Foundation
import Testing

@testable import FanoutStorage

@Suite("Assume-role profiles against moto's STS, with botocore as the oracle", .serialized, .credentialMotoServer)
struct CredentialAssumeRoleTests {
    var moto: CredentialMotoServer {
        get throws { try #require(CredentialMotoServer.current, "the suite's moto server is missing") }
    }

    /// The ARN STS reports for credentials (`GetCallerIdentity`, asked through boto3): the role and session they
    /// belong to, or the key's user.
    func callerARN(_ credentials: AWSCredentials) async throws -> String {
        let script = """
            import boto3, sys
            sts = boto3.client("sts", endpoint_url=sys.argv[1], region_name="us-east-1",
                aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3], aws_session_token=sys.argv[4] or None)
            print(sts.get_caller_identity()["Arn"])
            """
        return try await BotocoreCredentialOracle.run(
            script: script,
            arguments: [
                try moto.endpoint.absoluteString, credentials.accessKeyID, credentials.secretAccessKey,
                credentials.sessionToken ?? "",
            ])
    }

    func botocoreCallerARN(variables: [String: String], home: String) async throws -> String {
        let script = """
            import boto3, os
            session = boto3.session.Session()
            print(session.get_credentials().method)
            print(session.client("sts", endpoint_url=os.environ["AWS_ENDPOINT_URL_STS"]).get_caller_identity()["Arn"])
            """
        return try await BotocoreCredentialOracle.run(script: script, variables: variables, home: home)
    }

    @Test func sourceProfileChainAndBotocoreAgree() async throws {
        let home = try CredentialTempDirectory()
        try home.write(
            ".aws/credentials", "[base]\naws_access_key_id = AKIABASEKEY\naws_secret_access_key = base-secret\n")
        try home.write(
            ".aws/config",
            """
            [profile middle]
            role_arn = arn:aws:iam::123456789012:role/middle
            source_profile = base
            role_session_name = middle-session
            [profile target]
            role_arn = arn:aws:iam::123456789012:role/target
            source_profile = middle
            role_session_name = target-session
            region = us-east-1
            """)
        let variables = ["AWS_PROFILE": "target", "AWS_ENDPOINT_URL_STS": try moto.endpoint.absoluteString]
        let (credentials, provider) = try await CredentialProviderChain.default(
            environment: AWSEnvironment(variables: variables, homeDirectory: home.path)
        ).resolve()
        #expect(provider is AssumeRoleCredentialProvider)
        #expect(credentials.sessionToken?.isEmpty == false)
        #expect(credentials.expiration != nil)
        let fanoutARN = try await callerARN(credentials)
        #expect(fanoutARN == "arn:aws:sts::123456789012:assumed-role/target/target-session")

        let botocore = try await botocoreCallerARN(variables: variables, home: home.path)
        #expect(botocore == "assume-role\n" + fanoutARN)
    }

    @Test func credentialSourceEnvironment() async throws {
        let home = try CredentialTempDirectory()
        try home.write(
            ".aws/config",
            """
            [profile ci]
            role_arn = arn:aws:iam::123456789012:role/deployer
            credential_source = Environment
            role_session_name = ci-run
            """)
        let variables = [
            "AWS_PROFILE": "ci", "AWS_ENDPOINT_URL_STS": try moto.endpoint.absoluteString,
            "AWS_ACCESS_KEY_ID": "AKIAENVIRONMENT", "AWS_SECRET_ACCESS_KEY": "e",
        ]
        let (credentials, provider) = try await CredentialProviderChain.default(
            environment: AWSEnvironment(variables: variables, homeDirectory: home.path)
        ).resolve()
        // The environment's keys are there, but as in botocore, AWS_PROFILE does not hide them: env comes first.
        #expect(provider is EnvironmentCredentialProvider)
        #expect(credentials.accessKeyID == "AKIAENVIRONMENT")
        let botocore = try await BotocoreCredentialOracle.resolve(variables: variables, home: home.path)
        #expect(botocore.method == "env")

        // Through the profile alone, the role is assumed with the environment's keys.
        let assumed = try #require(
            try await AssumeRoleCredentialProvider(
                environment: AWSEnvironment(variables: variables, homeDirectory: home.path)
            ).credentials())
        #expect(try await callerARN(assumed) == "arn:aws:sts::123456789012:assumed-role/deployer/ci-run")
    }

    @Test func loopsAndBadSourcesAreClearErrors() async throws {
        let home = try CredentialTempDirectory()
        try home.write(
            ".aws/config",
            """
            [profile a]
            role_arn = arn:aws:iam::123456789012:role/a
            source_profile = b
            [profile b]
            role_arn = arn:aws:iam::123456789012:role/b
            source_profile = a
            [profile both]
            role_arn = arn:aws:iam::123456789012:role/x
            source_profile = a
            credential_source = Environment
            [profile odd]
            role_arn = arn:aws:iam::123456789012:role/x
            credential_source = Somewhere
            """)
        let expectations = [("a", "loop: a -> b -> a"), ("both", "both source_profile and credential_source"),
            ("odd", "credential_source = Somewhere")]
        for (profile, message) in expectations {
            let provider = AssumeRoleCredentialProvider(
                environment: AWSEnvironment(variables: [:], homeDirectory: home.path, profile: profile))
            let error = try await #require(throws: CredentialError.self) { try await provider.credentials() }
            #expect(error.message.contains(message))
        }
    }

    @Test func refusalSaysWhatToCheck() throws {
        let body = "<ErrorResponse><Error><Code>AccessDenied</Code><Message>not allowed</Message></Error></ErrorResponse>"
        let error = try #require(throws: CredentialError.self) {
            try WebIdentityCredentialProvider.parseResponse(
                status: 403, body: body, roleARN: "arn:aws:iam::1:role/r", endpoint: try moto.endpoint,
                webIdentity: false)
        }
        #expect(error.code == .stsRejected)
        #expect(error.message.contains("refused to let these credentials assume role arn:aws:iam::1:role/r"))
        #expect(error.message.contains("HTTP 403, AccessDenied: not allowed"))
        #expect(error.message.contains("sts:AssumeRole"))
    }
}
