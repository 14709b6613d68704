import Foundation

/// Where a run's state lives under the state prefix. Version 1 of the layout:
///
/// ```
/// PREFIX/v1/runs/RUN/lease.json                       the driving process's lease (RunLease), created first
/// PREFIX/v1/runs/RUN/spec.json                        the run spec (RunSpec), with every shard plan's digest
/// PREFIX/v1/runs/RUN/plan/part-000000.jsonl          shards 0 to 999's files (PlanPart: a header, a line per Shard)
/// PREFIX/v1/runs/RUN/plan/shard-000007.json           shard 7's files, in runs stored before parts
/// PREFIX/v1/runs/RUN/segments/shard-000007/A-T-000003.jsonl   results of attempt A (token T), batch 3
/// PREFIX/v1/runs/RUN/segments/carried/000001.jsonl    results reused from an earlier run
/// PREFIX/v1/runs/RUN/commits/shard-000007.json        shard 7 is complete
/// PREFIX/v1/runs/RUN/summary.json                     written by the driver at the end
/// PREFIX/v1/runs/RUN/attempts/DRIVER.json             each attempt a driver of the run launched (AttemptRecord)
/// PREFIX/v1/runs/RUN/lost/PLACE.json                  a place (a fleet's cluster) dropped mid-run, whose Jobs may
///                                                     remain until `fanout cancel` or `gc` reaches it (LostPlaceRecord)
/// PREFIX/v1/cache/STEP/VERSION/INPUT.json             the latest run of STEP@VERSION over INPUT
/// ```
///
/// Nothing else is stored anywhere: this layout is the whole state of a run.
struct RunStateLayout: Sendable {
    static let version = "v1"

    /// The state prefix, ending in `/` unless empty.
    let root: String
    let runID: String

    init(root: String, runID: String) {
        self.root = root.isEmpty || root.hasSuffix("/") ? root : root + "/"
        self.runID = runID
    }

    var runsPrefix: String { "\(root)\(Self.version)/runs/" }
    var runPrefix: String { "\(runsPrefix)\(runID)/" }
    var spec: String { runPrefix + "spec.json" }
    var lease: String { runPrefix + "lease.json" }
    var summary: String { runPrefix + "summary.json" }
    var planPrefix: String { runPrefix + "plan/" }
    var attemptsPrefix: String { runPrefix + "attempts/" }
    /// The attempts one driver of the run launched: `driver` tells the drivers of an attached run apart.
    func attempts(driver: String) -> String { attemptsPrefix + "\(driver).json" }
    func plan(shard: Int) -> String { planPrefix + "shard-\(Self.pad(shard)).json" }
    func planPart(_ part: Int) -> String { planPrefix + "part-\(Self.pad(part)).jsonl" }
    var lostPlacesPrefix: String { runPrefix + "lost/" }
    /// A place dropped from the run; characters a key should not hold become `_`.
    func lostPlace(_ name: String) -> String {
        let safe = name.map { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) ? $0 : "_" }
        return lostPlacesPrefix + String(safe) + ".json"
    }
    var segmentsPrefix: String { runPrefix + "segments/" }
    func segmentsPrefix(shard: Int) -> String { segmentsPrefix + "shard-\(Self.pad(shard))/" }
    func segment(shard: Int, attempt: Int, token: String, sequence: Int) -> String {
        segmentsPrefix(shard: shard) + "\(attempt)-\(token)-\(Self.pad(sequence)).jsonl"
    }
    var carriedPrefix: String { segmentsPrefix + "carried/" }
    func carried(sequence: Int) -> String { carriedPrefix + "\(Self.pad(sequence)).jsonl" }
    var commitsPrefix: String { runPrefix + "commits/" }
    func commit(shard: Int) -> String { commitsPrefix + "shard-\(Self.pad(shard)).json" }

    func cacheIndex(step: String, version: String, inputHash: String) -> String {
        "\(root)\(Self.version)/cache/\(step)/\(version)/\(inputHash).json"
    }

    /// The shard one of this run's segment or commit keys belongs to; `nil` for carried segments and other keys.
    /// Only the part below the run's prefix is read, so a state prefix that itself holds `shard-` cannot mislead it.
    func shard(ofKey key: String) -> Int? {
        guard key.hasPrefix(runPrefix) else { return nil }
        let components = key.dropFirst(runPrefix.count).split(separator: "/")
        guard components.count >= 2, components[0] == "segments" || components[0] == "commits",
            components[1].hasPrefix("shard-")
        else { return nil }
        return Int(components[1].dropFirst("shard-".count).prefix { $0.isNumber })
    }

    static func pad(_ value: Int) -> String {
        let text = String(value)
        return text.count >= 6 ? text : String(repeating: "0", count: 6 - text.count) + text
    }

    /// A new run id: sortable by time, unique by chance.
    static func newRunID(now: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        let random = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return formatter.string(from: now) + "-" + String(repeating: "0", count: 8 - random.count) + random
    }
}

/// What a run is, written once when it starts. Workers read it to find their input.
struct RunSpec: Codable, Sendable {
    /// 2 since the plan is stored in parts; 1 before.
    var format = 1
    static let currentFormat = 2
    var runID: String
    var step: String
    var stepVersion: String
    var stepParameters: String?
    var input: String
    var filter: FileFilter
    var inputHash: String
    var shardCount: Int
    var fileCount: Int
    var byteCount: Int64
    var carriedCount: Int
    var backend: String
    var createdAt: Date
    /// How workers batch results: records, bytes, milliseconds.
    var batching: [Int]?
    /// Where the backend ran the workers (``Backend/placement``).
    var placement: [String: String]?
    /// ``RunOptions/recordedSettings``: how the program that started the run was configured.
    var settings: [String]?
    /// The SHA-256 of each shard's stored plan, by shard index, in runs whose plan has an object per shard.
    var shardDigests: [String]?
    /// The plan's parts (``PlanPart``), by part index: workers check their shard against them.
    var planParts: [PlanPartRecord]?

    var segmentBatching: SegmentBatching {
        guard let batching, batching.count == 3 else { return SegmentBatching() }
        return SegmentBatching(maxRecords: batching[0], maxBytes: batching[1], maxDelay: .milliseconds(batching[2]))
    }
}

/// Written by a worker when every file of its shard has a stored result.
struct ShardCommit: Codable, Sendable {
    var shard: Int
    var attempt: Int
    var files: Int
    var committedAt: Date
}

/// Written by the driver when a run ends.
struct RunSummaryRecord: Codable, Sendable {
    var runID: String
    var succeeded: Int
    var failed: Int
    var cached: Int
    var finishedAt: Date
    /// Requests the backend made to its control plane (the Kubernetes API), when it has one.
    var apiRequests: Int? = nil
    var outcome: String
    /// What happened to each shard that did not simply succeed at its first attempt, by shard index.
    var shards: [String: String]? = nil
}

/// Points at the newest complete run of a step version over an input.
struct CacheIndexEntry: Codable, Sendable {
    var runID: String
}

enum StateCoding {
    static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(value)
    }

    static func decode<T: Decodable>(_ type: T.Type, from data: Data, key: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(type, from: data)
        } catch {
            throw RunError(
                code: .corruptState, message: "run state \(key) cannot be read as \(type)", underlying: error)
        }
    }
}
