public import Foundation

/// A place (a fleet's cluster) the run dropped while it ran: what was left there may still be running until a
/// command reaches it again and removes it, or its Jobs' deadline ends them.
public struct LostPlaceRecord: Codable, Sendable, Hashable {
    /// The place's name (``BackendPlace/name``): a fleet's cluster.
    public var place: String
    /// Why it was dropped.
    public var reason: String
    public var lostAt: Date

    public init(place: String, reason: String, lostAt: Date) {
        self.place = place
        self.reason = reason
        self.lostAt = lostAt
    }
}
