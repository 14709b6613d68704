import Foundation

extension String {
    /// Whether this string comes before `other` in S3's key order: bytewise by UTF-8, a prefix first. Compares
    /// contiguous UTF-8 with `memcmp`, which sorting a folder of thousands of names does many times per name.
    func precedesBytewise(_ other: String) -> Bool {
        let fast = utf8.withContiguousStorageIfAvailable { left in
            other.utf8.withContiguousStorageIfAvailable { right -> Bool in
                let shared = min(left.count, right.count)
                let order = shared == 0 ? 0 : memcmp(left.baseAddress!, right.baseAddress!, shared)
                return order != 0 ? order < 0 : left.count < right.count
            }
        }
        return (fast ?? nil) ?? utf8.lexicographicallyPrecedes(other.utf8)
    }
}
