import Foundation

/// The two renderings of a signing time that SigV4 uses, both in UTC.
struct SigV4Timestamp: Sendable, Hashable {
    /// `yyyyMMdd'T'HHmmss'Z'`, the `x-amz-date` header and `X-Amz-Date` parameter.
    let amzDate: String
    /// `yyyyMMdd`, the date in the credential scope and the first link of the signing-key chain.
    let dateStamp: String

    /// Renders `date` in UTC; fractions of a second are dropped.
    init(_ date: Date) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func pad(_ value: Int?, _ width: Int) -> String {
            let digits = String(value ?? 0)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        dateStamp = pad(parts.year, 4) + pad(parts.month, 2) + pad(parts.day, 2)
        amzDate = dateStamp + "T" + pad(parts.hour, 2) + pad(parts.minute, 2) + pad(parts.second, 2) + "Z"
    }
}
