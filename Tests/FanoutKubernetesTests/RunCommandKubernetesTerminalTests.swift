import FanoutTestSupport
import Foundation
import Testing

/// `fanout run --backend kubernetes` in a real terminal (tmux): what the screen shows while pods fail and the
/// backend logs.
extension KubernetesTests {
@Suite struct RunCommandKubernetesTerminalTests {
    @Test func eachFailedPodIsReportedOnceAndLogLinesKeepOffTheStatusLine() async throws {
        let files = Dictionary(uniqueKeysWithValues: (0..<4).map { ("\($0).txt", Data("x\n".utf8)) })
        try await ClusterRunFixture.with(files: files) { fixture in
            var environment = fixture.environment
            environment["FANOUT_LOG_LEVEL"] = "info"
            // Every worker is told to run a step it does not have: each shard's one pod fails, with its log. An
            // image other than the default makes the driver log a notice about the Swift runtime.
            let arguments = [
                "run", fixture.input, "--shards", "2", "--retries", "0", "--tolerate-failures", "100%",
                "--image", "registry.example/swift-runtime:1", "--env", "FANOUT_WORKER_STEP=no-such-step",
            ] + (try fixture.kubernetesFlags) + ["--", "wc", "-l", "{}"]
            try await TerminalSession.run(
                try FanoutBinary.location(), arguments, environment: environment
            ) { terminal in
                let status = try await terminal.waitForExit(timeout: .seconds(120))
                let screen = try await terminal.screen()
                #expect(status == 3, "every file failed, within the tolerance: \(screen)")
                #expect(screen.first?.hasSuffix(": 4 files in 2 shards on kubernetes") == true, "\(screen)")
                // Each pod's failure once, at the start of a line, its log lines below it; the log does not repeat it.
                let failures = screen.filter { $0.contains(": pod ") && $0.contains(" failed: ") }
                #expect(failures.count == 2, "\(screen)")
                #expect(Set(failures.map { String($0.prefix(9)) }) == ["shard 0: ", "shard 1: "], "\(screen)")
                #expect(screen.contains { $0.hasPrefix("    ") && $0.contains("no-such-step") }, "\(screen)")
                #expect(!screen.contains { $0.contains("pod failed") }, "\(screen)")
                // Log lines whole, each on a line of its own.
                #expect(screen.contains { $0.hasPrefix("info: created 1 Job for 2 shards ") }, "\(screen)")
                #expect(
                    screen.contains { $0.hasPrefix("notice: the shipped executable loads the Swift runtime") },
                    "\(screen)")
                // The status line only at the end, alone.
                #expect(screen.filter(ProgressLine.mentions).count == 1, "\(screen)")
                #expect(screen.last?.hasPrefix("4/4 files, 4 failed, ") == true, "\(screen)")
                #expect(ProgressLine.isFinal(screen.last ?? ""), "\(screen)")
            }
        }
    }
}
}
