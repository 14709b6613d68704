import Foundation
import Testing

@testable import FanoutKubernetes

extension KubernetesTests {
    @Suite struct LinuxExecutableTests {
        #if arch(x86_64)
            private let hostArchitecture = "amd64"
        #elseif arch(arm64)
            private let hostArchitecture = "arm64"
        #endif

        @Test func aSwiftBuildNeedsTheSwiftRuntimeInTheImage() throws {
            let executable = try LinuxExecutable(path: try WorkerBinary.path)
            #expect(executable.architecture == hostArchitecture)
            #expect(executable.interpreter?.hasPrefix("/lib") == true, "\(String(describing: executable.interpreter))")
            #expect(executable.neededLibraries.contains("libswiftCore.so"), "\(executable.neededLibraries)")
            #expect(executable.neededLibraries.contains("libcurl.so.4"), "\(executable.neededLibraries)")
            #expect(executable.needsSwiftRuntime)
        }

        @Test func aStaticExecutableNeedsNothing() throws {
            // The smallest ELF header: 64-bit, little-endian, an executable for aarch64 with no program headers.
            var header = Data(count: 64)
            header.replaceSubrange(0..<6, with: [0x7F, 0x45, 0x4C, 0x46, 2, 1])
            header[16] = 2
            header[18] = 183
            header[54] = 56
            let executable = try LinuxExecutable(path: "static") { offset, count in
                Data(header.dropFirst(Int(offset)).prefix(count))
            }
            #expect(executable.architecture == "arm64")
            #expect(executable.interpreter == nil)
            #expect(executable.neededLibraries.isEmpty)
            #expect(!executable.needsSwiftRuntime)
        }

        @Test func aScriptOrAMacBuildCannotBeShipped() throws {
            let folder = try ScratchFolder()
            defer { folder.remove() }
            let script = try folder.write("worker.sh", "#!/bin/sh\necho hi\n", executable: true)
            let machO = folder.path + "/worker-macos"
            try Data([0xCF, 0xFA, 0xED, 0xFE] + [UInt8](repeating: 0, count: 60)).write(to: URL(fileURLWithPath: machO))
            for path in [script, machO] {
                let error = #expect(throws: KubernetesError.self) { try LinuxExecutable(path: path) }
                #expect(error?.code == .invalidConfiguration)
                #expect(error?.description.contains("is not an ELF executable") == true, "\(String(describing: error))")
            }
            let missing = #expect(throws: KubernetesError.self) { try LinuxExecutable(path: folder.path + "/none") }
            #expect(missing?.code == .invalidConfiguration)
        }
    }
}
