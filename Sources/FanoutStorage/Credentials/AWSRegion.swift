/// An AWS region name, such as `eu-west-1`.
///
/// Regions are not checked against a list: new regions, and the made-up names S3-compatible servers accept,
/// work as they are.
public struct AWSRegion: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public init(_ name: String) {
        self.rawValue = name
    }

    public init(stringLiteral name: String) {
        self.rawValue = name
    }

    /// `us-east-1`, the region used when none is configured.
    public static let usEast1: AWSRegion = "us-east-1"

    public var description: String { rawValue }

    /// The DNS suffix of the region's partition: `amazonaws.com.cn` for China, `amazonaws.com` elsewhere.
    public var dnsSuffix: String { rawValue.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com" }
}
