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

    @Test(arguments: [
        ("logs/2024/app.log.gz", "logs/2024/app.log", "app.log.gz", "logs/2024", "app.log"),
        ("a.txt", "a", "a.txt", ".", "a"),
        ("dir.d/README", "dir.d/README", "README", "dir.d", "README"),
        ("home/.bashrc", "home/.bashrc", ".bashrc", "home", ".bashrc"),
        ("it's $(x).txt", "it's $(x)", "it's $(x).txt", ".", "it's $(x)"),
    ])
    func gnuParallelPlaceholdersAreDerivedFromTheKey(
        key: String, withoutExtension: String, basename: String, dirname: String, stem: String
    ) throws {
        #expect(CommandTemplate.Placeholder.keyWithoutExtension.derived(fromKey: key) == withoutExtension)
        #expect(CommandTemplate.Placeholder.basename.derived(fromKey: key) == basename)
        #expect(CommandTemplate.Placeholder.dirname.derived(fromKey: key) == dirname)
        #expect(CommandTemplate.Placeholder.stem.derived(fromKey: key) == stem)
        #expect(CommandTemplate.Placeholder.key.derived(fromKey: key) == nil)
    }

    @Test func gnuParallelPlaceholdersAreFoundInOnePassAndQuotedLikeTheOthers() throws {
        let template = try CommandTemplate(["cp", "{}", "out/{//}/{/.}.bak", "{.}", "{/}"])
        let values: [CommandTemplate.Placeholder: String] = [
            .path: "/tmp/x", .dirname: "d", .stem: "{/}", .keyWithoutExtension: "-rf", .basename: "b",
        ]
        #expect(template.render { values[$0] ?? "" } == ["cp", "/tmp/x", "out/d/{/}.bak", "-rf", "b"])
        #expect(template.placeholders == [.path, .dirname, .stem, .keyWithoutExtension, .basename])
        for name in hostileNames {
            #expect(try render(["sh", "-c", "mv {} out/{/.}.x {//}"], name)
                == ["sh", "-c", "mv \(quoted(name)) out/\(quoted(name)).x \(quoted(name))"])
        }
        #expect(try render(["sh", "-c", "echo 'at: {//}'"], "it's") == ["sh", "-c", #"echo 'at: it'\''s'"#])
        let refused = #expect(throws: CommandTemplateError.self) { try CommandTemplate(["sh", "-c", #"cat "{/.}""#]) }
        #expect(refused?.message.contains("FANOUT_STEM") == true, "\(refused?.message ?? "")")
        #expect(try CommandTemplate(["sh", "-c", "echo \"$FANOUT_DIRNAME\""]).uses(.dirname))
    }

    /// `value` as one single-quoted shell word.
    func quoted(_ value: String) -> String { "'" + value.replacingOccurrences(of: "'", with: #"'\''"#) + "'" }
}
