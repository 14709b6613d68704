import Foundation

extension AWSCredentials: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private static let redacted = "<redacted>"

    /// The access key ID and expiry, with the secret and session token redacted.
    public var description: String {
        var parts = ["accessKeyID: \(accessKeyID)", "secretAccessKey: \(Self.redacted)"]
        if sessionToken != nil {
            parts.append("sessionToken: \(Self.redacted)")
        }
        if let expiration {
            parts.append("expiration: \(expiration.formatted(.iso8601))")
        }
        return "AWSCredentials(\(parts.joined(separator: ", ")))"
    }

    /// The same as ``description``: the secret and session token are redacted.
    public var debugDescription: String {
        description
    }

    /// A mirror that shows the secret and session token redacted, so `dump` does not print them.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "accessKeyID": accessKeyID,
                "secretAccessKey": Self.redacted,
                "sessionToken": sessionToken.map { _ in Self.redacted } as Any,
                "expiration": expiration as Any,
            ],
            displayStyle: .struct
        )
    }
}
