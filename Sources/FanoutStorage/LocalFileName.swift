import Foundation

/// The reversible mapping between the raw bytes of local file names and keys, which are Unicode text.
///
/// File names on Linux are bytes: a folder copied from an old system may hold `caf\xE9.txt` (Latin-1), which is not
/// valid UTF-8. Such a name must still be a key, and the key must still name the file. A byte that is not part of
/// valid UTF-8 becomes the private-use code point `U+10FD00 + byte` (`U+10FD80`...`U+10FDFF`, plane 16), and
/// ``bytes(of:)`` turns those code points back into the bytes, so a key round-trips to the very file it came from.
/// Valid UTF-8 names are their own keys.
///
/// Every place where a local key becomes a path given to the system goes through ``withPath(_:_:)`` or
/// ``bytes(of:)``: the local store's `stat`, `open` and `opendir`, and the arguments and environment of child
/// processes, so `{}` reaches a command as the file's raw bytes. A name that itself holds one of these 128
/// private-use code points (as valid UTF-8) cannot be told from a mapped byte and is read as the byte.
public enum LocalFileName {
    /// The code point that byte `0x00` would map to; only `0x80`...`0xFF` ever are.
    static let base: UInt32 = 0x10FD00

    /// The key for a file name or path given as raw bytes.
    public static func key(fromBytes bytes: some Collection<UInt8>) -> String {
        if let valid = String(validating: bytes, as: UTF8.self) { return valid }
        let bytes = Array(bytes)
        var text = String.UnicodeScalarView()
        var index = 0
        while index < bytes.count {
            if let length = validSequenceLength(bytes, at: index) {
                text.append(contentsOf: String(decoding: bytes[index..<index + length], as: UTF8.self).unicodeScalars)
                index += length
            } else {
                text.append(Unicode.Scalar(base + UInt32(bytes[index]))!)
                index += 1
            }
        }
        return String(text)
    }

    /// The key for a NUL-terminated file name, as `readdir` gives it.
    public static func key(fromCString name: UnsafePointer<CChar>) -> String {
        let bytes = UnsafeBufferPointer(start: name, count: strlen(name))
        return bytes.withMemoryRebound(to: UInt8.self) { key(fromBytes: $0) }
    }

    /// The raw bytes a key or a path made of keys stands for.
    public static func bytes(of path: String) -> [UInt8] {
        // Mapped bytes are 4-byte sequences starting 0xF4: without one there is nothing to map back.
        guard path.utf8.contains(0xF4) else { return Array(path.utf8) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(path.utf8.count)
        for scalar in path.unicodeScalars {
            if (base + 0x80...base + 0xFF).contains(scalar.value) {
                bytes.append(UInt8(scalar.value - base))
            } else {
                bytes.append(contentsOf: String(scalar).utf8)
            }
        }
        return bytes
    }

    /// Calls `body` with the NUL-terminated raw bytes of `path`, for system calls (`open`, `stat`, `opendir`).
    public static func withPath<T>(_ path: String, _ body: (UnsafePointer<CChar>) throws -> T) rethrows -> T {
        // Without a mapped byte the path is its own bytes: no copy (this runs for every file a run reads).
        if !path.utf8.contains(0xF4) { return try path.withCString(body) }
        let bytes = Self.bytes(of: path).map { CChar(bitPattern: $0) } + [0]
        return try bytes.withUnsafeBufferPointer { try body($0.baseAddress!) }
    }

    /// A copy of `path`'s raw bytes in memory from `malloc`, NUL-terminated, for an `argv` or `envp` entry.
    public static func duplicate(_ path: String) -> UnsafeMutablePointer<CChar>? {
        withPath(path) { strdup($0) }
    }

    /// The length of the valid UTF-8 sequence at `index`, or `nil` when the byte there does not start one.
    private static func validSequenceLength(_ bytes: [UInt8], at index: Int) -> Int? {
        let lead = bytes[index]
        let length: Int
        var second: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; second = 0xA0...0xBF
        case 0xED: length = 3; second = 0x80...0x9F
        case 0xE1...0xEF: length = 3
        case 0xF0: length = 4; second = 0x90...0xBF
        case 0xF4: length = 4; second = 0x80...0x8F
        case 0xF1...0xF3: length = 4
        default: return nil
        }
        guard index + length <= bytes.count, second.contains(bytes[index + 1]) else { return nil }
        for offset in 2..<max(2, length) where !(0x80...0xBF).contains(bytes[index + offset]) { return nil }
        return length
    }
}
