import Foundation
import Synchronization
import Testing
@testable import FanoutCore

struct ChildProcessTests {
    @Test func capturesStandardOutputAndTheExitStatus() async throws {
        let result = try await ChildProcess.run("printf", arguments: ["%s-%s", "a b", "c"])
        #expect(result.succeeded)
        #expect(result.status == 0)
        #expect(String(decoding: result.standardOutput, as: UTF8.self) == "a b-c")
    }

    @Test func aFailureKeepsItsStatusAndTheEndOfStandardError() async throws {
        let result = try await ChildProcess.run("sh", arguments: ["-c", "echo first >&2; echo oops >&2; exit 3"])
        #expect(!result.succeeded)
        #expect(result.status == 3 && !result.signaled)
        #expect(result.errorTail == "first | oops")
        #expect(result.description == "exited with status 3: first | oops")
    }

    @Test func standardErrorKeepsOnlyItsLastBytes() async throws {
        let script = "head -c 10000 /dev/zero | tr '\\0' x >&2; echo END >&2"
        let result = try await ChildProcess.run("sh", arguments: ["-c", script])
        #expect(result.standardError.count == ChildProcess.errorTailBytes)
        #expect(String(decoding: result.standardError.suffix(4), as: UTF8.self) == "END\n")
    }

    @Test func aSignalIsReportedAsOne() async throws {
        let result = try await ChildProcess.run("sh", arguments: ["-c", "kill -KILL $$"])
        #expect(result.signaled)
        #expect(result.status == SIGKILL)
        #expect(result.description.hasPrefix("was killed by signal 9"))
    }

    @Test func standardInputComesFromTheGivenFile() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("stdin-\(UUID().uuidString)")
        try Data("one\ntwo\n".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try await ChildProcess.run("wc", arguments: ["-l"], standardInput: file.path)
        #expect(String(decoding: result.standardOutput, as: UTF8.self).trimmingCharacters(in: .whitespaces) == "2\n")
    }

    @Test func aMissingStandardInputFileIsAnError() async throws {
        await #expect(throws: ChildProcessError.self) {
            _ = try await ChildProcess.run("cat", arguments: [], standardInput: "/nonexistent/input")
        }
    }

    @Test func theEnvironmentIsExactlyTheOneGiven() async throws {
        let result = try await ChildProcess.run(
            "sh", arguments: ["-c", "echo \"$GREETING\"; env | grep -c ="],
            environment: ["GREETING": "hello", "PATH": "/usr/bin:/bin"])
        let lines = String(decoding: result.standardOutput, as: UTF8.self).split(separator: "\n")
        #expect(lines.first == "hello")
        // GREETING and PATH, plus PWD which the shell itself exports.
        let count = try #require(Int(lines.last ?? ""), "\(lines)")
        #expect((2...3).contains(count))
    }

    @Test func programsAreFoundOnThePathOfTheirEnvironment() async throws {
        await #expect(throws: ChildProcessError.self) {
            _ = try await ChildProcess.run("sh", arguments: ["-c", "true"], environment: ["PATH": "/nonexistent"])
        }
        do {
            _ = try await ChildProcess.run("no-such-program-anywhere", arguments: [])
            Issue.record("a missing program started")
        } catch let error as ChildProcessError {
            #expect(error.message.contains("cannot find no-such-program-anywhere on PATH"))
        }
    }

    @Test func onlyTheStandardStreamsAreInherited() async throws {
        // Open a descriptor without close-on-exec; the child must still not see it.
        let leaked = open("/dev/null", O_RDONLY)
        defer { close(leaked) }
        let result = try await ChildProcess.run("sh", arguments: ["-c", "ls /proc/$$/fd"])
        let descriptors = Set(String(decoding: result.standardOutput, as: UTF8.self).split(separator: "\n"))
        #expect(!descriptors.contains(Substring(String(leaked))))
        #expect(result.succeeded && Set(["0", "1", "2"]).isSubset(of: descriptors), "\(descriptors)")
        #expect(descriptors.isSubset(of: ["0", "1", "2", "10"]))  // dash keeps its script on 10
    }

    @Test func outputBeyondTheLimitIsAnErrorAndDiscardedOutputIsEmpty() async throws {
        await #expect(throws: ChildProcessError.self) {
            _ = try await ChildProcess.run("head", arguments: ["-c", "2000", "/dev/zero"], maxOutput: 1000)
        }
        let discarded = try await ChildProcess.run("echo", arguments: ["hi"], captureOutput: false)
        #expect(discarded.succeeded && discarded.standardOutput.isEmpty)
    }

    @Test func cancellingTheCallerTerminatesTheProgram() async throws {
        let task = Task { try await ChildProcess.run("sleep", arguments: ["30"]) }
        while !ChildProcess.running.withLock({ $0.values.contains { $0.hasSuffix("/sleep") } }) {
            try await Task.sleep(for: .milliseconds(10))
        }
        task.cancel()
        let result = try await task.value
        // Stopped, not waited out: a sleep that ran its 30 s would have exited 0, not died of SIGTERM.
        #expect(result.signaled && result.status == SIGTERM)
    }

    @Test func cancellingStopsWhatTheProgramStartedAndKillsWhatIgnoresIt() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("group-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // One program whose child would outlive it, one that ignores SIGTERM (and so does its child).
        let scripts = [
            "polite": "sleep 60 & echo $! > \(folder.path)/polite; wait",
            "stubborn": "trap '' TERM; sleep 60 & echo $! > \(folder.path)/stubborn; wait",
        ]
        for (name, script) in scripts {
            let task = Task { try await ChildProcess.run("sh", arguments: ["-c", script]) }
            let file = folder.appendingPathComponent(name)
            while (try? String(contentsOf: file, encoding: .utf8))?.hasSuffix("\n") != true {
                try await Task.sleep(for: .milliseconds(10))
            }
            let grandchild = try #require(Int32(String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
            task.cancel()
            let result = try await task.value
            #expect(result.signaled, "\(name)")
            #expect(result.status == (name == "polite" ? SIGTERM : SIGKILL), "\(name)")
            // Stopped, not waited out: the signal above, where a program that ran on would have exited 0.
            try await Task.sleep(for: .milliseconds(100))
            let stat = (try? String(contentsOfFile: "/proc/\(grandchild)/stat", encoding: .utf8)) ?? ""
            #expect(stat.isEmpty || stat.contains(") Z "), "\(name): the program's child \(grandchild) still runs")
        }
    }

    @Test func manyProgramsAtOnceEachGetTheirOwnOutput() async throws {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<200 {
                group.addTask {
                    let result = try await ChildProcess.run("echo", arguments: [String(index)])
                    return String(decoding: result.standardOutput, as: UTF8.self) == "\(index)\n"
                }
            }
            var matching = 0
            for try await matched in group where matched { matching += 1 }
            #expect(matching == 200)
        }
    }
}
