import Foundation
import Testing
@testable import FanoutCore

/// Names that run code wherever a shell reads them unquoted, or that look like options.
let hostileNames = [
    "$(touch X).txt", "`touch X`.txt", "a;b", "'q'", "\"dq\"", "x{size}.txt", "-rf", "sp ace", "new\nline",
    "back\\slash", "it's", "$HOME", "*",
]

struct CommandTemplateTests {
    /// Renders `command` with every placeholder set to `value`.
    func render(_ command: [String], _ value: String) throws -> [String] {
        try CommandTemplate(command).render { _ in value }
    }

    @Test func aWholeArgumentPlaceholderIsPassedVerbatim() throws {
        for name in hostileNames {
            #expect(try render(["wc", "-l", "{}"], name) == ["wc", "-l", name])
            #expect(try render(["echo", "{key}"], name) == ["echo", name])
        }
    }

    @Test func anEmbeddedPlaceholderOutsideAShellGetsNoQuotes() throws {
        #expect(try render(["cp", "{}", "out/{name}.bak"], "it's") == ["cp", "it's", "out/it's.bak"])
        #expect(try render(["jq", "-r", ".x", "--arg", "f", "{key}"], "a b") == ["jq", "-r", ".x", "--arg", "f", "a b"])
    }

    @Test func placeholdersAreReplacedInOnePass() throws {
        let template = try CommandTemplate(["echo", "{key}:{size}"])
        let values: [CommandTemplate.Placeholder: String] = [.key: "x{size}{}.txt", .size: "42"]
        #expect(template.render { values[$0] ?? "" } == ["echo", "x{size}{}.txt:42"])
        #expect(try render(["echo", "{nope}{", "{}"], "v") == ["echo", "{nope}{", "v"])
    }

    @Test func aShellScriptGetsEachPlaceholderAsOneQuotedWord() throws {
        #expect(try render(["sh", "-c", "wc -l < {}"], "a b") == ["sh", "-c", "wc -l < 'a b'"])
        #expect(try render(["bash", "-c", "cat {}"], "it's") == ["bash", "-c", #"cat 'it'\''s'"#])
        #expect(try render(["/bin/dash", "-ec", "x={name}"], "n") == ["/bin/dash", "-ec", "x='n'"])
        #expect(try render(["zsh", "-o", "pipefail", "-c", "a {}"], "n") == ["zsh", "-o", "pipefail", "-c", "a 'n'"])
        // Inside single quotes of the script, only the value's own quotes are escaped.
        #expect(try render(["sh", "-c", "echo 'file: {}'"], "it's") == ["sh", "-c", #"echo 'file: it'\''s'"#])
        // Arguments after the script are positional parameters: no shell reads them.
        #expect(try render(["sh", "-c", "wc -l < \"$1\"", "sh", "{}"], "it's") == ["sh", "-c", "wc -l < \"$1\"", "sh", "it's"])
        // A shell without -c runs a script file: its arguments are data.
        #expect(try render(["sh", "./script.sh", "{}"], "it's") == ["sh", "./script.sh", "it's"])
        // Escaped quotes and comments do not confuse the reading.
        #expect(try render(["sh", "-c", #"echo \" {} # {}"#], "v") == ["sh", "-c", #"echo \" 'v' # {}"#])
    }

    @Test func theShellReadsEachRenderedValueBackExactly() async throws {
        let scripts = ["printf %s {}": "", "printf %s 'pre:{}'": "pre:", #"x={}; printf %s "$x""#: ""]
        for name in hostileNames {
            for (script, prefix) in scripts {
                let command = try render(["sh", "-c", script], name)
                let result = try await ChildProcess.run(command[0], arguments: Array(command.dropFirst()))
                let printed = String(decoding: result.standardOutput, as: UTF8.self)
                #expect(result.succeeded, "\(script) with \(name.debugDescription): \(result)")
                #expect(printed == prefix + name, "\(script) with \(name.debugDescription)")
            }
        }
    }

    @Test func aPlaceholderWhereQuotingCannotHelpIsRefusedWithTheSafeForm() throws {
        let doubleQuoted = #expect(throws: CommandTemplateError.self) {
            try CommandTemplate(["sh", "-c", #"wc -l < "{}""#])
        }
        #expect(doubleQuoted?.message.contains("inside double quotes") == true)
        #expect(doubleQuoted?.message.contains("wc -l < {}") == true, "\(doubleQuoted?.message ?? "")")
        let embedded = #expect(throws: CommandTemplateError.self) {
            try CommandTemplate(["bash", "-c", #"echo "name: {name}""#])
        }
        #expect(embedded?.message.contains(#"echo "name: ${FANOUT_NAME}""#) == true, "\(embedded?.message ?? "")")
        #expect(throws: CommandTemplateError.self) { try CommandTemplate(["sh", "-c", "echo `cat {}`"]) }
        #expect(throws: CommandTemplateError.self) { try CommandTemplate(["sh", "-c", "cat <<EOF\n{}\nEOF"]) }
        #expect(throws: CommandTemplateError.self) { try CommandTemplate(["bash", "-c", "echo $'{}'"]) }
        // Outside a shell script, double quotes are just characters.
        #expect(try render(["echo", #""{}""#], "v") == ["echo", #""v""#])
    }

    @Test func theCommandSaysWhichValuesItNeeds() throws {
        let template = try CommandTemplate(["sh", "-c", "gzip -c \"$FANOUT_FILE\" | wc -c"])
        #expect(template.uses(.path))
        #expect(!template.uses(.url))
        #expect(try CommandTemplate(["curl", "-s", "{url}"]).uses(.url))
    }
}
