import FanoutTestSupport
import Foundation
import Testing

/// Every command's `--help`, as the built binary prints it: defaults as a person types them, each said once.
@Suite struct HelpTextTests {
    static let commands = ["run", "runs", "status", "attach", "results", "logs", "cancel", "gc", "ls", "presign"]

    /// The options of a help text, each with its help joined onto one line.
    private func options(_ help: String) -> [String] {
        var options: [String] = []
        for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("  -") {
                options.append(line.trimmingCharacters(in: .whitespaces))
            } else if line.hasPrefix("      "), !options.isEmpty {
                options[options.count - 1] += " " + line.trimmingCharacters(in: .whitespaces)
            } else if !line.hasPrefix(" ") {
                options.append("")
            }
        }
        return options.filter { !$0.isEmpty }
    }

    @Test(arguments: commands)
    func helpShowsNoSwiftValuesAndEachDefaultOnce(command: String) async throws {
        let help = try await FanoutBinary.run([command, "--help"], environment: ProcessInfo.processInfo.environment)
        #expect(help.status == 0, "\(help.stderr)")
        let options = options(help.stdout)
        #expect(!options.isEmpty, "\(help.stdout)")
        for option in options {
            #expect(!option.contains("DurationText(") && !option.contains("ByteSize(") && !option.contains("Optional("),
                    "\(option)")
            // The parser's own "(default: 2)" ends an option's help: its text must not say the default too.
            if option.hasSuffix(")"), let parser = option.range(of: "(", options: .backwards),
                option[parser.lowerBound...].contains("default: ")
            {
                #expect(!option[..<parser.lowerBound].contains("efault"), "a default said twice: \(option)")
            }
        }
    }

    @Test func durationsAndCountsShowTheirDefaultsAsTyped() async throws {
        let environment = ProcessInfo.processInfo.environment
        let presign = options(try await FanoutBinary.run(["presign", "--help"], environment: environment).stdout)
        let expires = try #require(presign.first { $0.hasPrefix("--expires") })
        #expect(expires.hasSuffix("(default: 1h)"), "\(expires)")
        let run = options(try await FanoutBinary.run(["run", "--help"], environment: environment).stdout)
        let retries = try #require(run.first { $0.hasPrefix("--retries") })
        #expect(retries.hasSuffix("use none. (default: 2)"), "\(retries)")
    }
}
