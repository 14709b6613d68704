public import Foundation

/// Where the loopback test servers are, read from the variables `scripts/test-servers/start` writes to
/// `.test-servers/env`.
///
/// A missing variable is an error, never a skip: a suite that cannot reach its server fails and says how to start it.
public enum TestEnvironment {
    /// moto's S3 server (`FANOUT_TEST_S3_ENDPOINT`).
    public static var s3Endpoint: URL {
        get throws { try url("FANOUT_TEST_S3_ENDPOINT") }
    }

    /// The fault-injecting proxy in front of moto (`FANOUT_TEST_FAULT_PROXY`).
    public static var faultProxy: URL {
        get throws { try url("FANOUT_TEST_FAULT_PROXY") }
    }

    /// The container credentials endpoint and IMDSv2 test server, `aws_metadata.py` (`FANOUT_TEST_AWS_METADATA`).
    public static var awsMetadata: URL {
        get throws { try url("FANOUT_TEST_AWS_METADATA") }
    }

    /// The SSO-OIDC test server, `sso_oidc.py` (`FANOUT_TEST_SSO_OIDC`).
    public static var ssoOIDC: URL {
        get throws { try url("FANOUT_TEST_SSO_OIDC") }
    }

    /// fake-gcs-server, the Cloud Storage emulator (`FANOUT_TEST_GCS_EMULATOR`).
    public static var gcsEmulator: URL {
        get throws { try url("FANOUT_TEST_GCS_EMULATOR") }
    }

    /// `google_auth.py`: Google's token endpoint and metadata server, and the authenticating proxy in front of the
    /// emulator (`FANOUT_TEST_GOOGLE_AUTH`).
    public static var googleAuth: URL {
        get throws { try url("FANOUT_TEST_GOOGLE_AUTH") }
    }

    /// The process environment, checked to hold the test servers' variables and the test credentials; what child
    /// processes (the CLI, the AWS CLI) are given.
    public static var variables: [String: String] {
        get throws {
            let environment = ProcessInfo.processInfo.environment
            for name in ["FANOUT_TEST_S3_ENDPOINT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
                _ = try value(name, in: environment)
            }
            return environment
        }
    }

    /// The value of an environment variable the test servers set.
    /// - Throws: ``TestEnvironmentError`` naming the variable and how to set it.
    public static func value(
        _ name: String, in environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> String {
        guard let value = environment[name], !value.isEmpty else { throw TestEnvironmentError(variable: name) }
        return value
    }

    private static func url(_ name: String) throws -> URL {
        let text = try value(name)
        guard let url = URL(string: text), url.scheme != nil else {
            throw TestEnvironmentError(variable: name, detail: "'\(text)' is not a URL")
        }
        return url
    }
}

/// A test server's variable is missing: the test fails with this message.
public struct TestEnvironmentError: Error, CustomStringConvertible {
    public let variable: String
    public let detail: String?

    public init(variable: String, detail: String? = nil) {
        self.variable = variable
        self.detail = detail
    }

    public var description: String {
        "\(variable) is \(detail ?? "not set"): run scripts/test (or scripts/test-servers/start and source "
            + ".test-servers/env)"
    }
}
