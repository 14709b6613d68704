public import Foundation

/// An OAuth 2.0 access token for Google APIs, sent as `Authorization: Bearer TOKEN`.
public struct GoogleAccessToken: Sendable, Hashable {
    public var token: String
    /// When it stops working; `nil` for never.
    public var expiration: Date?

    public init(token: String, expiration: Date?) {
        self.token = token
        self.expiration = expiration
    }

    /// The answer of a token endpoint or the metadata server: `{"access_token": ..., "expires_in": 3599}`.
    struct Answer: Decodable {
        var access_token: String
        var expires_in: Double?

        func token(receivedAt now: Date) -> GoogleAccessToken {
            GoogleAccessToken(token: access_token, expiration: expires_in.map { now.addingTimeInterval($0) })
        }
    }
}
