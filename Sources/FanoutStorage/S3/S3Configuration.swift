public import Foundation
public import Logging

/// Where an ``S3Client`` sends requests and how it signs them.
public struct S3Configuration: Sendable {
    /// How bucket names appear in request URLs.
    public enum Addressing: Sendable, Hashable {
        /// Virtual-hosted (`bucket.s3.region.amazonaws.com`) on AWS, path-style on custom endpoints.
        case automatic
        /// `endpoint/bucket/key`: what S3-compatible servers (MinIO, moto, Ceph) expect.
        case path
        /// `bucket.endpoint-host/key`.
        case virtualHosted
    }

    /// The region requests are signed for. Default `us-east-1`.
    public var region: String
    /// A custom endpoint such as `http://127.0.0.1:9000`; `nil` (the default) means AWS.
    public var endpoint: URL?
    /// Default ``Addressing/automatic``.
    public var addressing: Addressing
    /// Where credentials come from. Default: `AWS_*` environment variables, then the shared profile files, then
    /// web identity, as the AWS CLI resolves them.
    public var credentials: S3Credentials
    /// Objects larger than this are uploaded in parts. Default 16 MiB.
    public var multipartThreshold: Int
    /// The size of each part of a multipart upload (S3 requires at least 5 MiB). Default 8 MiB.
    public var partSize: Int
    /// Parts of one upload sent at once. Default 4.
    public var partConcurrency: Int
    /// The signing clock; injectable for tests. Default the system clock.
    public var now: @Sendable () -> Date

    public init(
        region: String = "us-east-1",
        endpoint: URL? = nil,
        addressing: Addressing = .automatic,
        credentials: S3Credentials = .chain(CredentialProviderChain.default()),
        multipartThreshold: Int = 16 << 20,
        partSize: Int = 8 << 20,
        partConcurrency: Int = 4,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.region = region
        self.endpoint = endpoint
        self.addressing = addressing
        self.credentials = credentials
        self.multipartThreshold = multipartThreshold
        self.partSize = max(partSize, 5 << 20)
        self.partConcurrency = max(1, partConcurrency)
        self.now = now
    }

    /// A configuration resolved as the AWS CLI does: region from `AWS_REGION`, `AWS_DEFAULT_REGION` or the
    /// profile; endpoint from `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL` or the profile.
    ///
    /// - Parameter logger: Where the credential chain logs, at debug level, which provider answered (never a
    ///   secret). Default: nowhere.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment,
        profile: String? = nil,
        anonymous: Bool = false,
        logger: Logger = CredentialProviderChain.noLogger
    ) -> S3Configuration {
        let aws = AWSEnvironment(variables: environment, profile: profile)
        return S3Configuration(
            region: (try? aws.region())?.rawValue ?? "us-east-1",
            endpoint: (try? aws.endpointURL(for: "s3")) ?? nil,
            credentials: anonymous ? .anonymous : .chain(CredentialProviderChain.default(environment: aws, logger: logger)))
    }
}

/// How requests are authenticated.
public enum S3Credentials: Sendable {
    /// Signed with credentials from this provider, held by the client and refreshed before they expire.
    case chain(any AWSCredentialProvider)
    /// Signed with credentials from this holder, which several clients may share so that one refresh serves all.
    case refreshing(ExpiringCredentials)
    /// Unsigned, for public buckets.
    case anonymous
}
