import Foundation
import Yams

extension Fleet {
    /// Reads a fleet file, YAML or JSON (the schema of ``Fleet``'s `Codable` form, described in `docs/FLEET.md`),
    /// and checks it with ``validate()``. Relative ``FleetCluster/kubeconfig`` paths are read from the file's folder,
    /// and `~/` from the home folder.
    /// - Throws: ``FleetError`` with code ``FleetError/Code/invalidFile`` when the file cannot be read, is neither
    ///   YAML nor JSON, lacks a required key, has a value of the wrong type or a key the schema does not know
    ///   (named, with the file); ``FleetError/Code/invalidFleet`` when it breaks a rule.
    public static func load(contentsOf path: String) throws -> Fleet {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw FleetError(
                code: .invalidFile, message: "cannot read the fleet file \(path)",
                hint: "Check the path and that the file is UTF-8 text", underlying: error)
        }
        var fleet = try parse(text, source: path)
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        for index in fleet.clusters.indices {
            fleet.clusters[index].kubeconfig = fleet.clusters[index].kubeconfig?.map { file in
                if file.hasPrefix("/") { return file }
                if file.hasPrefix("~/") {
                    return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(
                        String(file.dropFirst(2))
                    )
                    .path
                }
                return folder.appendingPathComponent(file).standardizedFileURL.path
            }
        }
        return fleet
    }

    /// Reads a fleet from YAML or JSON text, as ``load(contentsOf:)`` reads a file; `source` names it in errors.
    public static func parse(_ text: String, source: String = "fleet") throws -> Fleet {
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw FleetError(
                code: .invalidFile, message: "\(source) is empty",
                hint: "Declare the fleet's clusters under `clusters:` (docs/FLEET.md)")
        }
        let fleet: Fleet
        do {
            fleet = try YAMLDecoder().decode(Fleet.self, from: text)
        } catch {
            throw fileError(cause(of: error), source: source)
        }
        do {
            try fleet.validate()
        } catch var error as FleetError {
            error.message = "\(source): " + error.message
            throw error
        }
        return fleet
    }

    /// The error a decoder wrapped: Yams reports the parser's errors, and those thrown while decoding that are no
    /// `DecodingError` (``FleetUnknownKey``), as the underlying error of a `dataCorrupted`.
    static func cause(of error: any Error) -> any Error {
        if case .dataCorrupted(let context) = error as? DecodingError, let underlying = context.underlyingError {
            return cause(of: underlying)
        }
        return error
    }

    /// The error to report for a file that cannot be decoded.
    private static func fileError(_ cause: any Error, source: String) -> FleetError {
        switch cause {
        case let unknown as FleetUnknownKey:
            FleetError(
                code: .invalidFile,
                message: "\(source): unknown key '\(unknown.key)'"
                    + (unknown.path.isEmpty ? "" : " in \(unknown.path)"),
                hint: (closest(to: unknown.key, among: unknown.known).map { "Did you mean '\($0)'? " } ?? "")
                    + "The keys allowed there: " + unknown.known.joined(separator: ", "))
        case let error as DecodingError:
            FleetError(code: .invalidFile, message: "\(source): " + describe(error), underlying: error)
        default:
            FleetError(
                code: .invalidFile, message: "\(source) is neither valid YAML nor JSON",
                hint: "Fix the syntax where the cause says", underlying: cause)
        }
    }

    /// A decoding error as a sentence naming where in the file it is.
    private static func describe(_ error: DecodingError) -> String {
        func at(_ context: DecodingError.Context, _ key: (any CodingKey)? = nil) -> String {
            let path = fleetPath(context.codingPath + (key.map { [$0] } ?? []))
            return path.isEmpty ? "the top level" : path
        }
        switch error {
        case .keyNotFound(let key, let context):
            let path = fleetPath(context.codingPath)
            return "\(path.isEmpty ? "the top level" : path) lacks the required key '\(key.stringValue)'"
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            return "\(at(context)) must be \(describe(type)): \(context.debugDescription)"
        case .dataCorrupted(let context):
            return "\(at(context)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type: "a whole number"
        case is Double.Type: "a number"
        case is Bool.Type: "true or false"
        case is String.Type: "a string"
        default: "\(type)"
        }
    }

    /// The known key nearest to a misspelt one, when it is within one edit (two for keys of six letters or more).
    static func closest(to key: String, among known: [String]) -> String? {
        let scored = known.map { ($0, editDistance(key.lowercased(), $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= (key.count >= 6 ? 2 : 1) else { return nil }
        return best.0
    }

    /// Levenshtein distance: the fewest insertions, deletions and substitutions that turn `a` into `b`.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let b = Array(b)
        var previous = Array(0...b.count)
        for (i, character) in a.enumerated() {
            var current = [i + 1]
            for j in b.indices {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (character == b[j] ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}
