public import Foundation

/// What a ``CommandStep``'s program printed on standard output: its exact bytes.
///
/// Stored in a segment's `v` as a JSON string when the bytes are valid UTF-8 (the common case, and the same record
/// as a text value), and otherwise as `{"base64": "..."}`, so binary output comes back byte for byte.
public struct CommandOutput: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The bytes, exactly as printed.
    public var bytes: Data

    public init(bytes: Data) { self.bytes = bytes }

    public init(_ text: String) { self.bytes = Data(text.utf8) }

    /// The output as text, or `nil` when its bytes are not valid UTF-8.
    public var text: String? { String(validating: bytes, as: UTF8.self) }

    /// The text, or a note of the output's size when it is not valid UTF-8.
    public var description: String { text ?? "(\(bytes.count) bytes that are not UTF-8 text)" }

    private enum CodingKeys: String, CodingKey {
        case base64
    }

    public init(from decoder: any Decoder) throws {
        if let container = try? decoder.singleValueContainer(), let text = try? container.decode(String.self) {
            self.init(text)
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let encoded = try container.decode(String.self, forKey: .base64)
        guard let bytes = Data(base64Encoded: encoded) else {
            throw DecodingError.dataCorruptedError(
                forKey: .base64, in: container, debugDescription: "a command's output is not valid base64")
        }
        self.init(bytes: bytes)
    }

    public func encode(to encoder: any Encoder) throws {
        if let text {
            var container = encoder.singleValueContainer()
            try container.encode(text)
        } else {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(bytes.base64EncodedString(), forKey: .base64)
        }
    }
}
