import ArgumentParser
import Fanout
import Foundation

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show one run: files done and failed, shards, pods, elapsed time, throughput.",
        discussion: """
            A finished run shows its summary. An unfinished one shows what its workers have stored so far (read \
            from its segments) and how long it has been going; a Kubernetes run also shows its pods by phase (one \
            list request, in --namespace).

            With --watch, the status is shown again every --interval until the run finishes (redrawn in place on \
            a terminal, printed again when it changed otherwise; a JSON object each time with --json). It exits 0 \
            when the run completed, 3 when some files failed within its tolerance, and 1 when it failed, or when no \
            driver has held the run for three intervals in a row (attach to it to go on).

            Examples:
              fanout status 20261124-203512-9f3c01ab --state s3://my-bucket/fanout-state/
              fanout status 20261124-203512-9f3c01ab --json | jq .done
              fanout status 20261124-203512-9f3c01ab --watch
            """
    )

    @Argument(help: "The run id.") var runID: String
    @OptionGroup var state: StateOption
    @Flag(help: "Print JSON.") var json = false
    @Flag(name: .shortAndLong, help: "Show the status again until the run finishes.") var watch = false
    @Option(parsing: .unconditional, help: ArgumentHelp("With --watch, how long between refreshes (default 2s).",
        valueName: "duration"))
    var interval: DurationText?
    @OptionGroup(title: "Kubernetes") var cluster: ClusterOptions
    @OptionGroup(title: "S3") var storage: StorageOptions

    func validate() throws {
        if let interval, interval.seconds < 1 { throw ValidationError("--interval must be at least 1s") }
        if interval != nil && !watch { throw ValidationError("--interval goes with --watch") }
    }

    func run() async throws {
        try await reportingErrors {
            let catalog = try RunCatalog(state: try state.resolved(for: runID), stores: try storage.stores())
            guard watch else {
                emit(try await snapshot(catalog), previousLines: nil)
                return
            }
            try await watchRun(catalog)
        }
    }

    /// Shows the status every interval until the run finishes, then exits as it did.
    private func watchRun(_ catalog: RunCatalog) async throws {
        let live = !json && isatty(STDOUT_FILENO) == 1
        var shown: [String]?
        var withoutDriver = 0
        while true {
            let current = try await snapshot(catalog)
            let lines = render(current)
            if live || json || lines != shown {
                emit(current, previousLines: live ? shown : nil)
                if !live && !json && shown != nil { fflush(nil) }
            }
            fflush(nil)
            shown = lines
            if current.info.finishedAt != nil {
                switch current.info.status {
                case "complete": throw (current.info.failed ?? 0) > 0 ? ExitCode(3) : ExitCode.success
                default: throw ExitCode.failure
                }
            }
            withoutDriver = current.info.driver == nil ? withoutDriver + 1 : 0
            if withoutDriver >= 3 {
                FileHandle.standardError.write(Data("""
                    run \(runID) is unfinished and no driver holds it: go on with `fanout attach \(runID)`

                    """.utf8))
                throw ExitCode.failure
            }
            try await Task.sleep(for: .seconds(interval?.seconds ?? 2))
        }
    }

    /// What is known of the run now.
    struct Snapshot {
        var info: RunCatalog.Info
        var done: Int
        var failed: Int
        var elapsed: TimeInterval
        var pods: Result<[String: Int], any Error>?
        /// The first failed files, when any failed.
        var failures: [RunCatalog.FailedFile] = []
    }

    private func snapshot(_ catalog: RunCatalog) async throws -> Snapshot {
        let info = try await catalog.infoExplained(runID)
        let finished = info.finishedAt != nil
        let stored = finished ? nil : try await catalog.storedOutcomes(runID)
        var snapshot = Snapshot(
            info: info, done: stored?.done ?? (info.succeeded ?? 0) + (info.failed ?? 0),
            failed: stored?.failed ?? info.failed ?? 0,
            elapsed: (info.finishedAt ?? Date()).timeIntervalSince(info.createdAt),
            pods: ["kubernetes", "fleet"].contains(info.backend) ? await podPhases(placement: info.placement) : nil)
        if snapshot.failed > 0 { snapshot.failures = Array(try await catalog.failures(runID).prefix(3)) }
        return snapshot
    }

    /// Prints the snapshot; on a terminal, over `previousLines`.
    private func emit(_ snapshot: Snapshot, previousLines: [String]?) {
        if json {
            var fields = (try? JSONSerialization.jsonObject(with: Data(JSONLine.encode(snapshot.info).utf8)))
                as? [String: Any] ?? [:]
            fields["done"] = snapshot.done
            fields["failedSoFar"] = snapshot.failed
            fields["elapsedSeconds"] = (snapshot.elapsed * 10).rounded() / 10
            if case .success(let phases)? = snapshot.pods { fields["pods"] = phases }
            if !snapshot.failures.isEmpty {
                fields["failures"] = snapshot.failures.map { ["key": $0.key, "message": $0.message] }
            }
            print(JSONLine.encode(fields))
            return
        }
        // Back to the first line shown before, and everything below it cleared.
        if let previousLines, !previousLines.isEmpty { print("\u{1B}[\(previousLines.count)F\u{1B}[J", terminator: "") }
        for line in render(snapshot) { print(line) }
    }

    private func render(_ snapshot: Snapshot) -> [String] {
        let (info, done, failed, elapsed) = (snapshot.info, snapshot.done, snapshot.failed, snapshot.elapsed)
        var lines = ["run        \(info.runID)", "status     \(info.status)"]
        if let command = info.stepParameters.flatMap(CommandStep.decode) {
            lines.append("command    \(ShellWords.join(command.command))\(command.stdin ? " (with --stdin)" : "")")
        } else {
            lines.append("step       \(info.step) (version \(info.stepVersion))")
        }
        lines.append("input      \(info.input)")
        lines.append("backend    \(info.backend)")
        lines.append("files      \(done)/\(info.files) done" + (failed > 0 ? ", \(failed) failed" : ""))
        lines.append("shards     \(info.committedShards)/\(info.shards) committed")
        for failure in snapshot.failures {
            let reason = failure.message.split(separator: "\n").first.map(String.init) ?? ""
            lines.append("failed     \(failure.key): \(reason)")
        }
        if snapshot.failed > snapshot.failures.count {
            lines.append("           ... `fanout logs \(info.runID)` lists every failed file")
        }
        if let succeeded = info.succeeded, let failed = info.failed {
            lines.append("results    \(succeeded) succeeded, \(failed) failed, \(info.cached ?? 0) cached")
        }
        for (shard, history) in (info.shardHistories ?? [:]).sorted(by: { (Int($0.key) ?? 0) < (Int($1.key) ?? 0) })
            .prefix(20)
        {
            lines.append("shard \(shard)\(String(repeating: " ", count: max(1, 5 - shard.count)))\(history)")
        }
        switch snapshot.pods {
        case .success(let phases)?:
            let text = phases.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            lines.append("pods       \(text.isEmpty ? "none on the cluster" : text)")
        case .failure(let error)?:
            lines.append("pods       unknown: \(error)")
        case nil:
            break
        }
        for lost in info.lostPlaces ?? [] {
            lines.append("dropped    cluster \(lost.place) at \(DateText.iso8601(lost.lostAt)): \(lost.reason)")
            lines.append("           its Jobs may remain: `fanout cancel \(info.runID)` removes them once it answers")
        }
        lines.append("created    \(DateText.iso8601(info.createdAt))")
        if let finishedAt = info.finishedAt {
            lines.append("finished   \(DateText.iso8601(finishedAt)) (\(String(format: "%.1f", elapsed))s)")
        } else {
            lines.append("elapsed    \(String(format: "%.0f", elapsed))s")
        }
        if done > 0, elapsed > 0 {
            lines.append("throughput \(String(format: "%.1f", Double(done) / max(0.001, elapsed))) files/s")
        }
        return lines
    }

    /// The run's pods by phase, or why they could not be listed.
    private func podPhases(placement: [String: String]?) async -> Result<[String: Int], any Error> {
        do {
            var counts: [String: Int] = [:]
            for (_, client) in try cluster.clients(
                environment: try ConfigurationFile.effectiveEnvironment(), placement: placement)
            {
                let pods = try await client.listAll(Pod.self, labelSelector: KubernetesLabels.selector(runID: runID))
                for pod in pods.items { counts[pod.phase, default: 0] += 1 }
            }
            return .success(counts)
        } catch {
            return .failure(error)
        }
    }
}
