import FanoutStorage
import FanoutTestSupport
import Foundation
import Testing

/// How the CLI reaches S3: credentials files that cannot be used fail clearly, before any request.
@Suite(.serialized) struct StorageOptionsTests {
    /// The test environment without credentials in variables, so the shared files are read.
    func environment(credentialsFile: String, configFile: String) throws -> [String: String] {
        var environment = try FanoutBinary.environment()
        for name in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"] {
            environment[name] = nil
        }
        environment["AWS_SHARED_CREDENTIALS_FILE"] = credentialsFile
        environment["AWS_CONFIG_FILE"] = configFile
        return environment
    }

    @Test func aMalformedCredentialsFileIsNamedWithItsLineAndNoSecret() async throws {
        let client = try makeS3Client()
        try await withTemporaryBucket(client: client) { bucket in
            try await client.putObject(bucket: bucket, key: "in/a.txt", data: Data("a\n".utf8))
            try await withTemporaryDirectory { folder in
                let credentials = folder.appendingPathComponent("credentials")
                try Data("[default]\naws_access_key_id = testing\naws_secret_access_key testing-secret-value\n".utf8)
                    .write(to: credentials)
                let environment = try environment(
                    credentialsFile: credentials.path, configFile: folder.appendingPathComponent("none").path)
                for arguments in [["ls", "s3://\(bucket)/in/"], ["run", "s3://\(bucket)/in/", "-q", "--", "cat", "{}"]] {
                    let result = try await FanoutBinary.run(arguments, environment: environment)
                    #expect(result.status == 1, "\(arguments[0]): \(result.stderr)")
                    #expect(result.stderr.contains("error: \(credentials.path), line 3: expected 'key = value'"),
                        "\(arguments[0]): \(result.stderr)")
                    #expect(!result.stderr.contains("testing-secret-value"), "the line's text may be a secret")
                    #expect(result.stdout.isEmpty)
                }
            }
        }
    }

    @Test func anUnreadableCredentialsFileSaysWhatToCheck() async throws {
        try await withTemporaryDirectory { folder in
            // A folder where the file should be: unreadable as a file, even for root.
            let credentials = folder.appendingPathComponent("credentials")
            try FileManager.default.createDirectory(at: credentials, withIntermediateDirectories: true)
            let environment = try environment(
                credentialsFile: credentials.path, configFile: folder.appendingPathComponent("none").path)
            let result = try await FanoutBinary.run(["ls", "s3://some-bucket/"], environment: environment)
            #expect(result.status == 1)
            #expect(result.stderr.contains("error: cannot read the AWS settings file \(credentials.path)"), "\(result.stderr)")
            #expect(result.stderr.contains("AWS_SHARED_CREDENTIALS_FILE"))
        }
    }

    @Test func debugLoggingSaysWhichCredentialProviderAnsweredAndNoSecret() async throws {
        let client = try makeS3Client()
        try await withTemporaryBucket(client: client) { bucket in
            try await client.putObject(bucket: bucket, key: "in/a.txt", data: Data("a\n".utf8))
            try await withTemporaryDirectory { folder in
                let credentials = folder.appendingPathComponent("credentials")
                try Data("[default]\naws_access_key_id = testing\naws_secret_access_key = testing-secret-value\n".utf8)
                    .write(to: credentials)
                var environment = try environment(
                    credentialsFile: credentials.path, configFile: folder.appendingPathComponent("none").path)
                environment["FANOUT_LOG_LEVEL"] = "debug"
                let result = try await FanoutBinary.run(["ls", "s3://\(bucket)/in/"], environment: environment)
                #expect(result.status == 0, "\(result.stderr)")
                #expect(result.stderr.contains("found AWS credentials"), "\(result.stderr)")
                #expect(result.stderr.contains("ProfileCredentialProvider"), "\(result.stderr)")
                #expect(!result.stderr.contains("testing-secret-value"))
            }
        }
    }

    @Test func noCredentialsAtAllIsAnErrorThatSaysWhereItLooked() async throws {
        try await withTemporaryDirectory { folder in
            let environment = try environment(
                credentialsFile: folder.appendingPathComponent("no-credentials").path,
                configFile: folder.appendingPathComponent("no-config").path)
            let result = try await FanoutBinary.run(["ls", "s3://some-bucket/"], environment: environment)
            #expect(result.status == 1)
            #expect(result.stderr.hasPrefix("error: no AWS credentials found"), "\(result.stderr)")
        }
    }
}
