public import FanoutCore
import FanoutStorage
import Foundation

/// Map steps shared by the engine's tests and the worker executable they start, so both sides agree on names,
/// versions and output types.
public enum TestSteps {
    /// The file's size in bytes, read from its contents.
    public static let byteCount = MapStep("byte-count", version: "1") { file in
        try await file.bytes().count
    }

    /// Like ``byteCount``, and says `read KEY` on standard error, which a pod's log keeps.
    public static let chattyByteCount = MapStep("chatty-byte-count", version: "1") { file in
        FileHandle.standardError.write(Data("read \(file.key)\n".utf8))
        return try await file.bytes().count
    }

    /// The file's size in bytes, counted over its streamed chunks (``InputFile/chunks()``).
    public static let streamedByteCount = MapStep("streamed-byte-count", version: "1") { file in
        var count = 0
        for try await chunk in try await file.chunks() { count += chunk.count }
        return count
    }

    /// Like ``byteCount`` but slow enough (100 ms a file) to kill a worker in the middle of a shard.
    public static let slowByteCount = MapStep("slow-byte-count", version: "1") { file in
        try await Task.sleep(for: .milliseconds(100))
        return try await file.bytes().count
    }

    /// 1 for each file, at once, except in the first attempt of a shard holding a file whose key contains
    /// "straggler": there it waits a minute (or until cancelled), as on a slow machine.
    public static let firstAttemptStraggles = MapStep("first-attempt-straggles", version: "1") { file -> Int in
        let attempt = ProcessInfo.processInfo.environment["FANOUT_WORKER_ATTEMPT"] ?? "1"
        if file.key.contains("straggler") && attempt == "1" { try await Task.sleep(for: .seconds(60)) }
        return 1
    }

    /// 1 for each file, at once, except for files whose key contains "straggler": there every attempt waits a
    /// minute (or until cancelled).
    public static let straggles = MapStep("straggles", version: "1") { file -> Int in
        if file.key.contains("straggler") { try await Task.sleep(for: .seconds(60)) }
        return 1
    }

    /// Holds as many MiB as the file's text says, touched, for half a second (as a step that needs that much memory
    /// would), and returns the number.
    public static let holdsMemory = MapStep("holds-memory", version: "1") { file -> Int in
        let mebibytes = Int(try await file.text().trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let bytes = mebibytes << 20
        let memory = UnsafeMutableRawPointer.allocate(byteCount: max(1, bytes), alignment: 4096)
        defer { memory.deallocate() }
        memory.initializeMemory(as: UInt8.self, repeating: 1, count: bytes)
        try await Task.sleep(for: .milliseconds(500))
        return mebibytes
    }

    /// Crashes the process (`fatalError`) on files whose key contains "crash", 1 otherwise.
    public static let crashOnSome = MapStep("crash-on-some", version: "1") { file -> Int in
        if file.key.contains("crash") { fatalError("cannot digest \(file.key)") }
        return 1
    }

    /// Fails on files whose key contains "bad", 1 otherwise.
    public static let failOnBad = MapStep("fail-on-bad", version: "1") { file -> Int in
        if file.key.contains("bad") { throw TestStepError(message: "refusing \(file.key)") }
        return 1
    }

    /// Like ``failOnBad`` but 300 ms a file, long enough to stop a worker in the middle of its shard.
    public static let slowFailOnBad = MapStep("slow-fail-on-bad", version: "1") { file -> Int in
        try await Task.sleep(for: .milliseconds(300))
        if file.key.contains("bad") { throw TestStepError(message: "refusing \(file.key)") }
        return 1
    }

    /// Writes an upper-cased copy of each file next to the input, under `upper/`: the first step of a two-step
    /// program.
    public static let upperCase = MapStep("upper-case", version: "1") { file -> String in
        let text = try await file.text().uppercased()
        let output = URL(fileURLWithPath: file.url.replacingOccurrences(of: "file://", with: ""))
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("upper").appendingPathComponent(file.name)
        try FileManager.default.createDirectory(
            at: output.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: output)
        return output.path
    }
}

public struct TestStepError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
