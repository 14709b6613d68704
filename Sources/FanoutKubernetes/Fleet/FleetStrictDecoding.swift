/// A key of a fleet file that the schema does not know, found while decoding: the file loader turns it into a
/// ``FleetError`` that names the key, where it is and the file.
struct FleetUnknownKey: Error {
    /// Where the key is, as `clusters[0].zones[1]`.
    var path: String
    var key: String
    /// The keys allowed there.
    var known: [String]
}

/// Any key, to list every key an object holds.
private struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?

    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
}

extension Decoder {
    /// Throws ``FleetUnknownKey`` for the first key of this object that `Keys` does not name, so that a typo in a
    /// fleet file is refused instead of silently meaning a default.
    func refuseUnknownKeys<Keys: CodingKey & CaseIterable>(_ keys: Keys.Type) throws {
        let known = Keys.allCases.map(\.stringValue)
        let present = try container(keyedBy: AnyCodingKey.self).allKeys.map(\.stringValue).sorted()
        if let unknown = present.first(where: { !known.contains($0) }) {
            throw FleetUnknownKey(path: fleetPath(codingPath), key: unknown, known: known)
        }
    }
}

/// A coding path as people write it: `clusters[0].zones[1]`.
func fleetPath(_ path: [any CodingKey]) -> String {
    var text = ""
    for key in path {
        if let index = key.intValue {
            text += "[\(index)]"
        } else {
            text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
        }
    }
    return text
}
