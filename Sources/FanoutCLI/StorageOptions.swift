import ArgumentParser
import Fanout
import Foundation
import Logging

/// Flags that say how to reach the stores (S3's endpoint, region and profile; Cloud Storage takes its settings from
/// the environment); shared by every subcommand that touches storage.
struct StorageOptions: ParsableArguments {
    @Option(help: ArgumentHelp("An S3-compatible endpoint URL (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, or AWS).",
        valueName: "url"))
    var endpoint: String?

    @Option(help: ArgumentHelp("The S3 region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile, or us-east-1).",
        valueName: "name"))
    var region: String?

    @Option(help: ArgumentHelp("The AWS profile for credentials, region and endpoint, as the AWS CLI's --profile "
        + "(default: AWS_PROFILE, else default). Pods on Kubernetes get their credentials from --secret-env or "
        + "--service-account instead.", valueName: "name"))
    var profile: String?

    @Flag(help: "Send unsigned requests, for public buckets.")
    var anonymous = false

    func validate() throws {
        if let endpoint, URL(string: endpoint)?.scheme == nil {
            throw ValidationError("--endpoint '\(endpoint)' is not a URL; write it like http://127.0.0.1:9000")
        }
    }

    /// Every kind of store, configured from the environment, with S3's as these flags say.
    /// - Throws: ``CredentialError`` when `--profile` names a profile that the AWS files do not hold.
    func stores(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ObjectStores {
        ObjectStores(environment: environment).with(try s3Client(environment: environment))
    }

    /// - Throws: ``CredentialError`` when `--profile` names a profile that the AWS files do not hold.
    func s3Client(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> S3Client {
        if let profile, !anonymous { try AWSEnvironment(variables: environment, profile: profile).checkProfile() }
        var configuration = S3Configuration.fromEnvironment(
            environment, profile: profile, anonymous: anonymous, logger: Logger(label: "fanout.credentials"))
        if let endpoint { configuration.endpoint = URL(string: endpoint) }
        if let region { configuration.region = region }
        return S3Client(configuration: configuration)
    }
}

/// Runs `body`, turning Fanout's errors into a message on standard error and a non-zero exit: 64 for a
/// configuration file or a location to fix, 1 otherwise.
func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ConfigurationError {
        throw fail(error.message, exitCode: .validationFailure)
    } catch let error as UsageError {
        throw fail(error.message, exitCode: .validationFailure)
    } catch let error as CredentialError {
        throw fail("\(error)")
    } catch let error as KubernetesError {
        throw fail("\(error)")
    } catch let error as FleetError {
        // A fleet file to fix, or a run no cluster can serve: nothing was created.
        throw fail("\(error)", exitCode: .validationFailure)
    } catch let error as ObjectStoreError where error.code == .invalidURL {
        throw fail("\(error)", exitCode: .validationFailure)
    } catch let error as ObjectStoreError {
        throw fail("\(error)")
    } catch let error as RunError {
        throw fail("\(error)")
    } catch let error as ChildProcessError {
        throw fail(error.message)
    } catch let error as ReduceError {
        throw fail(error.message)
    }
}

/// A command that cannot work as given, found once it runs (a program that is not there): `error: MESSAGE`, exit 64.
struct UsageError: Error {
    let message: String
}

extension CommandStep {
    /// ``checkProgram(path:)``, failing as a usage error.
    func checkProgramForUsage() throws {
        do {
            try checkProgram()
        } catch let error as ChildProcessError {
            throw UsageError(message: error.message)
        }
    }
}

private func fail(_ message: String, exitCode: ExitCode = .failure) -> ExitCode {
    Terminal.shared.note("error: \(message)")
    return exitCode
}
