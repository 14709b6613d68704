extension SigV4 {
    /// Percent-encodes `value` the way SigV4 requires.
    ///
    /// Every UTF-8 byte except the unreserved characters `A-Z a-z 0-9 - _ . ~` becomes `%XY` with
    /// uppercase hex digits: a space is `%20` (never `+`), `+` is `%2B`, `=` is `%3D`. Build request
    /// paths and query strings with this function so that what is sent is what is signed.
    ///
    /// - Parameters:
    ///   - value: The raw, unencoded text, such as an object key or a query parameter value.
    ///   - encodeSlash: Whether `/` is encoded. Pass `false` for an object key used as a URL path,
    ///     `true` (the default) for query parameter names and values.
    public static func uriEncode(_ value: some StringProtocol, encodeSlash: Bool = true) -> String {
        percentEncode(value.utf8, keepingSlash: !encodeSlash)
    }

    static func percentEncode(_ bytes: some Sequence<UInt8>, keepingSlash: Bool) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount)
        for byte in bytes {
            if isUnreserved(byte) || (keepingSlash && byte == UInt8(ascii: "/")) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(digits[Int(byte >> 4)])
                out.append(digits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes that percent-encoded `text` stands for. A `%` not followed by two hex digits is
    /// kept as it is, and `+` stays a plus sign (it means a space only in HTML forms).
    static func percentDecode(_ text: some Collection<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        var index = text.startIndex
        while index != text.endIndex {
            let byte = text[index]
            let first = text.index(after: index)
            if byte == UInt8(ascii: "%"), first != text.endIndex {
                let second = text.index(after: first)
                if second != text.endIndex, let high = hexValue(text[first]), let low = hexValue(text[second]) {
                    out.append(high << 4 | low)
                    index = text.index(after: second)
                    continue
                }
            }
            out.append(byte)
            index = first
        }
        return out
    }

    /// The canonical URI of a percent-encoded URL path, as S3 computes it.
    ///
    /// Each segment is decoded, then encoded again with ``uriEncode(_:encodeSlash:)``, so `$` and `%24`
    /// give the same result. Segments are never normalized (`.`, `..` and empty segments are legal in
    /// S3 keys) and nothing is encoded twice. An empty path is `/`.
    static func canonicalURI(percentEncodedPath path: String) -> String {
        if path.isEmpty {
            return "/"
        }
        return path.utf8
            .split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
            .map { percentEncode(percentDecode($0), keepingSlash: false) }
            .joined(separator: "/")
    }

    /// The parameters of a percent-encoded query string, each name and value re-encoded with
    /// ``uriEncode(_:encodeSlash:)``, in their original order. A parameter without `=` has an empty value.
    static func canonicalQueryParameters(percentEncodedQuery query: String) -> [(name: String, value: String)] {
        query.utf8
            .split(separator: UInt8(ascii: "&"))
            .map { pair in
                let name: Substring.UTF8View.SubSequence
                let value: Substring.UTF8View.SubSequence
                if let equals = pair.firstIndex(of: UInt8(ascii: "=")) {
                    name = pair[..<equals]
                    value = pair[pair.index(after: equals)...]
                } else {
                    name = pair
                    value = pair[pair.endIndex...]
                }
                return (
                    name: percentEncode(percentDecode(name), keepingSlash: false),
                    value: percentEncode(percentDecode(value), keepingSlash: false)
                )
            }
    }

    /// Already-encoded query parameters as a canonical query string: sorted by name, then by value,
    /// byte by byte, and joined as `name=value` pairs with `&`.
    static func canonicalQueryString(_ parameters: [(name: String, value: String)]) -> String {
        parameters
            .sorted { lhs, rhs in
                if lhs.name != rhs.name {
                    return lhs.name.utf8.lexicographicallyPrecedes(rhs.name.utf8)
                }
                return lhs.value.utf8.lexicographicallyPrecedes(rhs.value.utf8)
            }
            .map { "\($0.name)=\($0.value)" }
            .joined(separator: "&")
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
            UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
