import CSpawn
import FanoutStorage
public import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a program and awaits it without tying up the caller's thread.
///
/// Each program starts from a dedicated thread, which then waits for its exit and reads its output back; its
/// standard output and error go to unnamed temporary files, so nothing has to drain pipes while it runs. Each
/// program leads a process group of its own: cancelling the awaiting task sends the group `SIGTERM`, then `SIGKILL`
/// if it is still there after ``RunningChild/gracePeriod``, so nothing the program started outlives it.
///
/// When this process is killed outright (SIGKILL, the out-of-memory killer), nothing here runs: on Linux each
/// program is started with a parent-death signal (`PR_SET_PDEATHSIG`, SIGKILL), so it dies with this process
/// instead of going on as an orphan. The kernel ties that signal to the thread that started the program, which is
/// why the starting thread is the one that waits for the program's end and never a thread of the shared pool,
/// which may end while the program runs. Only the program itself gets the signal: what it starts in the background
/// (a daemon, a `&` job of a shell) is not covered.
public enum ChildProcess {
    /// How a program ended, and what it printed.
    public struct Result: Sendable, CustomStringConvertible {
        public let status: Int32
        /// Whether `status` is the signal that killed it rather than an exit status.
        public let signaled: Bool
        public let standardOutput: Data
        /// The last few KiB of standard error.
        public let standardError: Data

        public var succeeded: Bool { !signaled && status == 0 }

        /// The last lines of standard error, joined for a one-line message.
        public var errorTail: String {
            String(decoding: standardError, as: UTF8.self).split(separator: "\n").suffix(3)
                .joined(separator: " | ").trimmingCharacters(in: .whitespaces)
        }

        public var description: String {
            let how = signaled ? "was killed by signal \(status)" : "exited with status \(status)"
            return errorTail.isEmpty ? how : "\(how): \(errorTail)"
        }
    }

    /// The programs running now, by process id, for tests that kill one.
    static let running = Mutex<[Int32: String]>([:])

    /// How much of standard error a result keeps.
    static let errorTailBytes = 4096

    /// Runs `executable` (a path, or a name looked up on the `PATH` of `environment`) with `arguments`.
    ///
    /// - Parameters:
    ///   - environment: the program's whole environment; default this process's.
    ///   - standardInput: a file to read standard input from; default none.
    ///   - captureOutput: keep standard output (default `true`); otherwise it is discarded.
    ///   - maxOutput: standard output beyond this many bytes is an error (default 64 MiB).
    public static func run(
        _ executable: String,
        arguments: [String],
        environment: [String: String]? = nil,
        standardInput: String? = nil,
        captureOutput: Bool = true,
        maxOutput: Int = 64 << 20
    ) async throws -> Result {
        let path = try ExecutableLookup.resolve(executable, path: environment.map { $0["PATH"] } ?? inheritedPath)
        let streams = try ChildStreams(standardInput: standardInput, captureOutput: captureOutput)
        let started = ChildHandoff<RunningChild>()
        let outcome = ChildHandoff<Result>()
        // The program is started from a thread of its own that lives until the program has ended: on Linux the
        // program gets SIGKILL when the thread that started it ends (`PR_SET_PDEATHSIG`), so when this process is
        // killed (a SIGKILLed worker) its programs do not go on as orphans. A thread of the shared pool could end
        // while the program still runs; this one waits for it. Starting takes about as long as `posix_spawn`, which
        // blocked the caller the same way.
        Thread.detachNewThread {
            let child: RunningChild
            do {
                let arguments = [executable] + arguments
                let pid = try spawn(path, arguments: arguments, environment: environment, streams: streams)
                child = RunningChild(pid: pid)
            } catch {
                streams.closeInput()
                streams.closeOutputs()
                started.deliver(.failure(error))
                return
            }
            streams.closeInput()
            running.withLock { $0[child.pid] = path }
            started.deliver(.success(child))
            let ended = child.awaitExit()
            running.withLock { _ = $0.removeValue(forKey: child.pid) }
            defer { streams.closeOutputs() }
            guard let (status, signaled) = ended else {
                outcome.deliver(.failure(ChildProcessError(message: "lost track of \(executable)")))
                return
            }
            let errors = streams.error.map { readTail(of: $0, count: errorTailBytes) } ?? Data()
            guard let output = streams.output.map({ readWhole($0, atMost: maxOutput) }) ?? Data() else {
                let message = "\(executable) printed more than \(maxOutput) bytes"
                outcome.deliver(.failure(ChildProcessError(message: message)))
                return
            }
            outcome.deliver(.success(Result(
                status: status, signaled: signaled, standardOutput: output, standardError: errors)))
        }
        let child = try started.wait()
        return try await withTaskCancellationHandler {
            try await outcome.value()
        } onCancel: {
            child.stop()
        }
    }

    /// The `PATH` this process was started with.
    private static let inheritedPath = ProcessInfo.processInfo.environment["PATH"]

    /// This process's environment, read once.
    static let inheritedEnvironment = ProcessInfo.processInfo.environment

    private static func spawn(
        _ path: String, arguments: [String], environment: [String: String]?, streams: ChildStreams
    ) throws -> pid_t {
        let argv = CStringArray(arguments)
        defer { argv.release() }
        let envp = environment.map { CStringArray($0.map { "\($0.key)=\($0.value)" }) }
        defer { envp?.release() }
        var pid: pid_t = 0
        let result = cspawn_start_tied(
            &pid, path, argv.pointers, envp?.pointers ?? environ,
            streams.input, streams.output ?? ChildStreams.nullDevice, streams.error ?? ChildStreams.nullDevice)
        guard result == 0 else {
            throw ChildProcessError(message: "cannot start \(path): \(String(cString: strerror(result)))")
        }
        return pid
    }

    /// The whole file behind `descriptor`, or `nil` past `limit` bytes.
    private static func readWhole(_ descriptor: Int32, atMost limit: Int) -> Data? {
        let size = fileSize(descriptor)
        guard size <= limit else { return nil }
        return read(descriptor, from: 0, count: size)
    }

    /// The last `count` bytes of the file behind `descriptor`.
    private static func readTail(of descriptor: Int32, count: Int) -> Data {
        let size = fileSize(descriptor)
        let start = max(0, size - count)
        return read(descriptor, from: start, count: size - start)
    }

    private static func fileSize(_ descriptor: Int32) -> Int {
        var info = stat()
        return fstat(descriptor, &info) == 0 ? Int(info.st_size) : 0
    }

    private static func read(_ descriptor: Int32, from offset: Int, count: Int) -> Data {
        guard count > 0 else { return Data() }
        var data = Data(count: count)
        let filled = data.withUnsafeMutableBytes { buffer -> Int in
            var done = 0
            while done < count {
                let got = pread(descriptor, buffer.baseAddress! + done, count - done, off_t(offset + done))
                if got > 0 {
                    done += got
                } else if got < 0 && errno == EINTR {
                    continue
                } else {
                    break
                }
            }
            return done
        }
        return filled == count ? data : data.prefix(filled)
    }
}

/// A program that could not be started or misbehaved.
public struct ChildProcessError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// A started program: waits for its exit and signals it, never touching a process id after it was reaped, so a
/// signal can never reach an unrelated process that reused the id.
final class RunningChild: Sendable {
    let pid: pid_t
    private let exited = Mutex(false)

    init(pid: pid_t) { self.pid = pid }

    /// Blocks until the program ends and reaps it; its status, or `nil` if it could not be waited for.
    func awaitExit() -> (status: Int32, signaled: Bool)? {
        // Waiting without reaping keeps the id reserved until `exited` is set under the lock.
        let waited = cspawn_await_exit(pid)
        exited.withLock { $0 = true }
        var status: Int32 = 0
        var signaled: Int32 = 0
        guard waited == 0, cspawn_reap(pid, &status, &signaled) == 0 else { return nil }
        return (status, signaled != 0)
    }

    /// How long a stopped program has to exit before it is killed.
    static let gracePeriod = Duration.seconds(5)

    /// Sends `signal` to the program's process group unless the program has already ended.
    func signal(_ signal: Int32) {
        exited.withLock { done in
            if !done { _ = kill(-pid, signal) }
        }
    }

    /// Asks the program and everything in its process group to stop, and kills them if they have not after the
    /// grace period.
    func stop() {
        signal(SIGTERM)
        Task.detached { [self] in
            try? await Task.sleep(for: Self.gracePeriod)
            signal(SIGKILL)
        }
    }
}

/// The descriptors a program's standard streams are connected to.
struct ChildStreams: Sendable {
    /// Standard input: a file opened for the program, or the shared null device.
    let input: Int32
    /// Where standard output goes; `nil` when it is discarded.
    let output: Int32?
    let error: Int32?
    private let ownsInput: Bool

    /// `/dev/null`, opened once and shared by every program.
    static let nullDevice: Int32 = open("/dev/null", O_RDWR | O_CLOEXEC)

    private static let temporaryDirectory: String = {
        let directory = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        return directory.isEmpty ? "/tmp" : directory
    }()

    init(standardInput: String?, captureOutput: Bool) throws {
        if let standardInput {
            let descriptor = open(standardInput, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                throw ChildProcessError(
                    message: "cannot open \(standardInput) for standard input: \(String(cString: strerror(errno)))")
            }
            input = descriptor
            ownsInput = true
        } else {
            input = Self.nullDevice
            ownsInput = false
        }
        var output: Int32?
        do {
            output = captureOutput ? try Self.anonymousFile() : nil
            error = try Self.anonymousFile()
        } catch {
            if ownsInput { closeDescriptor(input) }
            if let output { closeDescriptor(output) }
            throw error
        }
        self.output = output
    }

    private static func anonymousFile() throws -> Int32 {
        let descriptor = cspawn_open_anonymous(temporaryDirectory)
        guard descriptor >= 0 else {
            throw ChildProcessError(
                message: "cannot create a temporary file in \(temporaryDirectory): \(String(cString: strerror(errno)))")
        }
        return descriptor
    }

    /// Closes standard input once the program holds its own copy.
    func closeInput() {
        if ownsInput { closeDescriptor(input) }
    }

    /// Closes the output files.
    func closeOutputs() {
        for descriptor in [output, error].compactMap({ $0 }) { closeDescriptor(descriptor) }
    }
}

/// Finds programs on a `PATH`, remembering what it found.
enum ExecutableLookup {
    private static let found = Mutex<[String: String]>([:])

    /// `name` itself when it holds a `/`; otherwise the first executable file of that name on `path`.
    static func resolve(_ name: String, path: String?) throws -> String {
        if name.contains("/") { return name }
        let search = path ?? "/usr/local/bin:/usr/bin:/bin"
        let cacheKey = search + "\u{0}" + name
        if let known = found.withLock({ $0[cacheKey] }) { return known }
        for directory in search.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (directory.isEmpty ? "." : String(directory)) + "/" + name
            var info = stat()
            if stat(candidate, &info) == 0, info.st_mode & S_IFMT == S_IFREG, access(candidate, X_OK) == 0 {
                found.withLock { $0[cacheKey] = candidate }
                return candidate
            }
        }
        throw ChildProcessError(message: "cannot find \(name) on PATH; install it or give its full path")
    }
}

/// A NUL-terminated array of C strings, as `execve` takes them.
struct CStringArray {
    let pointers: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    private let count: Int

    init(_ strings: [String]) {
        count = strings.count
        pointers = .allocate(capacity: count + 1)
        // Keys of local files whose names are not UTF-8 stand for raw bytes: the child gets those bytes.
        for (index, string) in strings.enumerated() { pointers[index] = LocalFileName.duplicate(string) }
        pointers[count] = nil
    }

    func release() {
        for index in 0..<count { free(pointers[index]) }
        pointers.deallocate()
    }
}

private func closeDescriptor(_ descriptor: Int32) {
    _ = close(descriptor)
}
