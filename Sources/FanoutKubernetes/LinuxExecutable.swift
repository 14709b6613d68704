import Foundation

/// What a pod needs to run a shipped executable, read from its ELF headers: the CPU architecture, and which shared
/// libraries the dynamic loader must find in the image.
///
/// Only 64-bit little-endian ELF files are understood: what Kubernetes nodes run (amd64, arm64, ppc64le, riscv64).
struct LinuxExecutable: Sendable, Hashable {
    /// The architecture as the node label `kubernetes.io/arch` names it: `amd64`, `arm64`...
    var architecture: String
    /// The dynamic loader (`PT_INTERP`); `nil` for a static executable, which runs in any image.
    var interpreter: String?
    /// The shared libraries named by the executable (`DT_NEEDED`), in file order.
    var neededLibraries: [String]

    /// Whether the image must carry the Swift runtime libraries (it was not built with `--static-swift-stdlib`).
    var needsSwiftRuntime: Bool { neededLibraries.contains { $0.hasPrefix("libswiftCore.") } }

    /// Reads the headers of the file at `path`.
    /// - Throws: ``KubernetesError`` with code ``KubernetesError/Code/invalidConfiguration`` when the file cannot be
    ///   read or is not a 64-bit little-endian ELF executable.
    init(path: String) throws {
        let handle: FileHandle
        do {
            handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        } catch {
            throw KubernetesError(
                code: .invalidConfiguration, message: "cannot read the executable to ship, \(path)", underlying: error)
        }
        defer { try? handle.close() }
        try self.init(path: path) { offset, count in
            try handle.seek(toOffset: offset)
            return try handle.read(upToCount: count) ?? Data()
        }
    }

    /// Parses ELF headers through `read(offset, count)`, which returns at most `count` bytes at `offset`.
    init(path: String, read: (UInt64, Int) throws -> Data) throws {
        func invalid(_ what: String) -> KubernetesError {
            KubernetesError(
                code: .invalidConfiguration, message: "the executable to ship, \(path), \(what)",
                hint: "Pods run Linux: ship a Linux build of the program (built on Linux, or with the Static Linux "
                    + "SDK), or set shipExecutable to false and name an image that contains it.")
        }
        let header = try read(0, 64)
        guard header.count >= 64, header.starts(with: [0x7F, 0x45, 0x4C, 0x46]) else {
            throw invalid("is not an ELF executable (it may be a macOS or Windows build, or a script)")
        }
        guard header[4] == 2, header[5] == 1 else {
            throw invalid("is not a 64-bit little-endian ELF executable")
        }
        let machine = header.integer(at: 18, as: UInt16.self)
        architecture = Self.architectures[machine] ?? "elf-machine-\(machine)"

        let tableOffset = header.integer(at: 32, as: UInt64.self)
        let entrySize = Int(header.integer(at: 54, as: UInt16.self))
        let entryCount = Int(header.integer(at: 56, as: UInt16.self))
        guard entrySize >= 56 || entryCount == 0 else { throw invalid("has a malformed program header table") }
        let table = try read(tableOffset, entrySize * entryCount)
        guard table.count == entrySize * entryCount else { throw invalid("is truncated") }

        struct Segment {
            var type: UInt32
            var offset: UInt64
            var address: UInt64
            var size: UInt64
        }
        let segments = (0..<entryCount).map { index in
            let base = index * entrySize
            return Segment(
                type: table.integer(at: base, as: UInt32.self), offset: table.integer(at: base + 8, as: UInt64.self),
                address: table.integer(at: base + 16, as: UInt64.self),
                size: table.integer(at: base + 32, as: UInt64.self))
        }

        interpreter = try segments.first { $0.type == 3 }.map { segment in
            String(decoding: try read(segment.offset, Int(min(segment.size, 4096))).prefix { $0 != 0 }, as: UTF8.self)
        }
        neededLibraries = []
        guard let dynamic = segments.first(where: { $0.type == 2 }) else { return }
        let entries = try read(dynamic.offset, Int(min(dynamic.size, 1 << 20)))
        var needed: [UInt64] = []
        var stringTable: UInt64?
        var stringTableSize: UInt64 = 0
        for base in stride(from: 0, to: entries.count - 15, by: 16) {
            let tag = entries.integer(at: base, as: Int64.self)
            let value = entries.integer(at: base + 8, as: UInt64.self)
            if tag == 0 { break }
            if tag == 1 { needed.append(value) }
            if tag == 5 { stringTable = value }
            if tag == 10 { stringTableSize = value }
        }
        guard !needed.isEmpty, let stringTable else { return }
        // DT_STRTAB is an address: find it in the loaded segment that maps it.
        guard
            let load = segments.first(where: {
                $0.type == 1 && $0.address <= stringTable && stringTable < $0.address + $0.size
            })
        else { throw invalid("has a string table outside its loaded segments") }
        let strings = try read(stringTable - load.address + load.offset, Int(min(stringTableSize, 1 << 24)))
        neededLibraries = needed.compactMap { offset in
            guard offset < UInt64(strings.count) else { return nil }
            let start = strings.startIndex + Int(offset)
            return String(decoding: strings[start...].prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// ELF `e_machine` values and the `kubernetes.io/arch` of each.
    static let architectures: [UInt16: String] = [62: "amd64", 183: "arm64", 21: "ppc64le", 22: "s390x", 243: "riscv64"]
}

extension Data {
    /// The little-endian integer at `offset` from the start.
    fileprivate func integer<T: FixedWidthInteger>(at offset: Int, as: T.Type) -> T {
        var value: T = 0
        for byte in self[(startIndex + offset)..<(startIndex + offset + MemoryLayout<T>.size)].reversed() {
            value = value << 8 | T(byte)
        }
        return value
    }
}
