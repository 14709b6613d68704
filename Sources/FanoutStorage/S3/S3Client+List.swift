import Foundation
import FanoutHTTP

extension S3Client {
    /// Lists a bucket with ListObjectsV2, one request per page as the listing is iterated.
    ///
    /// Keys are requested URL-encoded (`encoding-type=url`) so every key survives XML, and decoded here.
    public func listObjects(bucket: String, prefix: String, options: ListOptions = ListOptions()) -> ObjectListing {
        ObjectListing { [self] continuation in
            try await listObjectsPage(bucket: bucket, prefix: prefix, options: options, continuation: continuation)
        }
    }

    /// One page of ListObjectsV2.
    public func listObjectsPage(
        bucket: String, prefix: String, options: ListOptions, continuation: String?
    ) async throws -> ObjectListing.Page {
        var query: [(String, String?)] = [("list-type", "2"), ("encoding-type", "url")]
        query.append(("max-keys", String(min(max(options.pageSize, 1), 1000))))
        if !prefix.isEmpty { query.append(("prefix", prefix)) }
        if let delimiter = options.delimiter { query.append(("delimiter", delimiter)) }
        if let continuation {
            query.append(("continuation-token", continuation))
        } else if let startAfter = options.startAfter {
            query.append(("start-after", startAfter))
        }
        let response = try await send(.get, bucket: bucket, query: query)
        return try Self.parseListPage(response.body)
    }

    static func parseListPage(_ body: Data) throws -> ObjectListing.Page {
        let root = try XMLNode.parse(body)
        let urlEncoded = root["EncodingType"] == "url"
        func decode(_ text: String) -> String {
            guard urlEncoded else { return text }
            return text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? text
        }
        var objects: [ObjectInfo] = []
        objects.reserveCapacity(root.children.count)
        for node in root.children where node.name == "Contents" {
            guard let key = node["Key"] else { continue }
            objects.append(
                ObjectInfo(
                    key: decode(key),
                    size: Int64(node["Size"] ?? "") ?? 0,
                    etag: S3Dates.unquote(node["ETag"] ?? ""),
                    lastModified: S3Dates.parseISO8601(node["LastModified"] ?? "") ?? Date(timeIntervalSince1970: 0)))
        }
        let prefixes = root.children("CommonPrefixes").compactMap { $0["Prefix"].map(decode) }
        let truncated = root["IsTruncated"] == "true"
        let next = truncated ? root["NextContinuationToken"] : nil
        if truncated && next == nil {
            throw ObjectStoreError(
                code: .server, message: "the listing is truncated but the server sent no continuation token")
        }
        return ObjectListing.Page(objects: objects, commonPrefixes: prefixes, continuation: next)
    }
}

/// The date formats S3 uses.
enum S3Dates {
    static func parseISO8601(_ text: String) -> Date? {
        // 2024-01-02T03:04:05.000Z, with or without fractional seconds; parsed by hand for speed in big listings.
        let bytes = Array(text.utf8)
        guard bytes.count >= 19 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let digit = Int(bytes[index]) - 48
                guard (0...9).contains(digit) else { return nil }
                value = value * 10 + digit
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19)
        else { return nil }
        var fraction = 0.0
        if bytes.count > 20, bytes[19] == UInt8(ascii: ".") {
            var scale = 0.1
            var index = 20
            while index < bytes.count, let digit = number(index..<(index + 1)) {
                fraction += Double(digit) * scale
                scale /= 10
                index += 1
            }
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Double(days * 86400 + hour * 3600 + minute * 60 + second) + fraction
        return Date(timeIntervalSince1970: seconds)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146097 + dayOfEra - 719468
    }

    static func parseHTTPDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }

    static func unquote(_ etag: String) -> String {
        var value = etag
        if value.hasPrefix("W/") { value.removeFirst(2) }
        return value.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }
}
