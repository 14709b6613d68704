import Foundation
import Testing

/// botocore's own credential resolver, run in a child process with only the variables a test gives it, so a test
/// can check that Fanout picks the provider the AWS CLI picks.
enum BotocoreCredentialOracle {
    /// What botocore resolved: its provider name (`credentials.method`, such as `container-role`) and access key,
    /// or the error it raised.
    struct Answer: Decodable, Equatable {
        let method: String?
        let accessKey: String?
        let error: String?
    }

    private static let script = """
        import json, sys
        import botocore.session
        try:
            credentials = botocore.session.get_session().get_credentials()
            print(json.dumps({"method": credentials and credentials.method,
                              "accessKey": credentials and credentials.access_key, "error": None}))
        except Exception as error:
            print(json.dumps({"method": None, "accessKey": None, "error": f"{type(error).__name__}: {error}"}))
        """

    /// Runs a Python `script` with `arguments`, `variables` and `HOME` set to `home`, and returns its standard
    /// output without the final line break.
    static func run(
        script: String, arguments: [String] = [], variables: [String: String] = [:], home: String? = nil
    ) async throws -> String {
        let data = try await python(
            script, arguments: arguments, variables: variables, home: home ?? NSTemporaryDirectory())
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
    }

    /// Resolves credentials with `variables` and `HOME` set to `home`; instance metadata is disabled unless the
    /// variables enable it.
    static func resolve(variables: [String: String], home: String) async throws -> Answer {
        let data = try await python(script, arguments: [], variables: variables, home: home)
        return try JSONDecoder().decode(Answer.self, from: data)
    }

    private static func python(
        _ script: String, arguments: [String], variables: [String: String], home: String
    ) async throws -> Data {
        var environment = variables
        environment["HOME"] = home
        environment["PATH"] = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        if environment["AWS_EC2_METADATA_DISABLED"] == nil, environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] == nil {
            environment["AWS_EC2_METADATA_DISABLED"] = "true"
        }
        let output = Pipe()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        process.environment = environment
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        try #require(status == 0, "python3 exited with \(status): \(String(decoding: data, as: UTF8.self))")
        return data
    }
}
