extension SigV4 {
    /// A header name as it is signed and compared: without the spaces and tabs around it, lowercased.
    ///
    /// Works on the name's bytes: it runs for every header of every signed request.
    static func canonicalHeaderName(_ name: String) -> String {
        let bytes = name.utf8
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self).lowercased()
    }
}
