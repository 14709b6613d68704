public import Foundation
public import FanoutSigV4

public protocol AWSCredentialProvider: Sendable {
    func credentials() async throws -> AWSCredentials?
}
public struct CredentialProviderChain: AWSCredentialProvider {
    let environment: [String: String]
    public static func `default`(environment: [String: String] = ProcessInfo.processInfo.environment) -> CredentialProviderChain {
        CredentialProviderChain(environment: environment)
    }
    public func credentials() async throws -> AWSCredentials? {
        guard let id = environment["AWS_ACCESS_KEY_ID"], let secret = environment["AWS_SECRET_ACCESS_KEY"] else { return nil }
        return AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: environment["AWS_SESSION_TOKEN"])
    }
}
actor ExpiringCredentials {
    let provider: any AWSCredentialProvider
    init(provider: any AWSCredentialProvider) { self.provider = provider }
    func credentials() async throws -> AWSCredentials? { try await provider.credentials() }
}
struct AWSConfigResolver {
    let environment: [String: String]
    func region() -> String { environment["AWS_REGION"] ?? "us-east-1" }
    func s3Endpoint() -> URL? { (environment["AWS_ENDPOINT_URL_S3"] ?? environment["AWS_ENDPOINT_URL"]).flatMap(URL.init(string:)) }
}
