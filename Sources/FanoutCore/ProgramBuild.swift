import Foundation

/// The build of the running program, as its ELF GNU build ID (`ld --build-id`, which Swift's linker adds on Linux):
/// read from the program headers' notes, a few kilobytes whatever the size of the executable.
enum ProgramBuild {
    /// This executable's build ID in hex, or `nil` where it has none (another format, a stripped note).
    static let id: String? = buildID(ofExecutableAt: "/proc/self/exe")

    /// The GNU build ID of a 64-bit little-endian ELF file, in hex.
    static func buildID(ofExecutableAt path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let header = try? handle.read(upToCount: 64), header.count == 64,
            header.starts(with: [0x7F, 0x45, 0x4C, 0x46]), header[4] == 2, header[5] == 1
        else { return nil }
        let tableOffset = header.integer(at: 0x20, as: UInt64.self)
        let entrySize = Int(header.integer(at: 0x36, as: UInt16.self))
        let entries = Int(header.integer(at: 0x38, as: UInt16.self))
        guard entrySize >= 56, entries > 0, entries < 4096,
            (try? handle.seek(toOffset: tableOffset)) != nil,
            let table = try? handle.read(upToCount: entrySize * entries), table.count == entrySize * entries
        else { return nil }
        for index in 0..<entries {
            let entry = table.subdata(in: index * entrySize..<(index + 1) * entrySize)
            let noteSegment: UInt32 = 4
            guard entry.integer(at: 0, as: UInt32.self) == noteSegment else { continue }
            let offset = entry.integer(at: 8, as: UInt64.self)
            let size = Int(entry.integer(at: 32, as: UInt64.self))
            guard size > 0, size < 1 << 20, (try? handle.seek(toOffset: offset)) != nil,
                let notes = try? handle.read(upToCount: size), notes.count == size
            else { continue }
            if let id = gnuBuildID(inNotes: notes) { return id }
        }
        return nil
    }

    /// The descriptor of the `NT_GNU_BUILD_ID` note among `notes`, in hex.
    private static func gnuBuildID(inNotes notes: Data) -> String? {
        var position = 0
        func aligned(_ value: Int) -> Int { (value + 3) & ~3 }
        while position + 12 <= notes.count {
            let nameSize = Int(notes.integer(at: position, as: UInt32.self))
            let descriptorSize = Int(notes.integer(at: position + 4, as: UInt32.self))
            let type = notes.integer(at: position + 8, as: UInt32.self)
            let nameStart = position + 12
            let descriptorStart = nameStart + aligned(nameSize)
            guard descriptorStart + descriptorSize <= notes.count else { return nil }
            let buildIDNote: UInt32 = 3
            if type == buildIDNote, nameSize == 4, notes.subdata(in: nameStart..<nameStart + 4) == Data("GNU\0".utf8) {
                return notes.subdata(in: descriptorStart..<descriptorStart + descriptorSize)
                    .map { String(format: "%02x", $0) }.joined()
            }
            position = descriptorStart + aligned(descriptorSize)
        }
        return nil
    }
}

extension Data {
    /// The little-endian integer at `offset`.
    fileprivate func integer<T: FixedWidthInteger>(at offset: Int, as type: T.Type) -> T {
        var value: T = 0
        for byte in 0..<MemoryLayout<T>.size {
            value |= T(self[startIndex + offset + byte]) << (8 * byte)
        }
        return value
    }
}
