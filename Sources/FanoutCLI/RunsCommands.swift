import ArgumentParser
import Fanout
import Foundation

struct RunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List recent runs, newest first; with --kubernetes, also those on the cluster.",
        discussion: """
            Without --state, lists the runs started from this machine, wherever their state is (each line ends \
            with it), and those under the default state prefix. With --state, the runs under that prefix, which \
            holds every run's spec and results. With --kubernetes, the runs that have Jobs in \
            the namespace are listed too, from the Jobs' fanout.dev/run labels (one list request, whatever the \
            number of pods): their Jobs, pods running, shards done and failed.

            Examples:
              fanout runs
              fanout runs --state s3://my-bucket/fanout-state/ --json
              fanout runs --kubernetes --context prod --namespace batch
            """
    )

    @OptionGroup var state: StateOption
    @Option(help: "Show at most this many runs.") var limit = 20
    @Flag(help: "Also list the runs with Jobs on the cluster.") var kubernetes = false
    @Flag(help: "One JSON object per run.") var json = false
    @OptionGroup(title: "Kubernetes (with --kubernetes)") var cluster: ClusterOptions
    @OptionGroup(title: "S3") var storage: StorageOptions

    func run() async throws {
        try await reportingErrors {
            let environment = try ConfigurationFile.effectiveEnvironment()
            // Without --state: the runs this machine started, wherever their state is, and the default prefix's.
            let prefixes = state.state.map { [$0] } ?? Self.knownPrefixes(environment: environment)
            var listed: [(id: String, catalog: RunCatalog)] = []
            for prefix in prefixes {
                let catalog = try RunCatalog(state: prefix, stores: try storage.stores())
                do {
                    listed += try await catalog.runIDs().prefix(limit).map { ($0, catalog) }
                } catch where state.state == nil {
                    FileHandle.standardError.write(Data("cannot list the runs under \(prefix): \(error)\n".utf8))
                }
            }
            listed = Array(listed.sorted { $0.id > $1.id }.prefix(limit))
            if listed.isEmpty && !json { print("no runs under \(prefixes.joined(separator: ", "))") }
            for (id, catalog) in listed { try await printRun(id, from: catalog) }
            if kubernetes { try await printClusterRuns() }
        }
    }

    /// Prints one run's line (or JSON object); without --state, with where its state is.
    private func printRun(_ id: String, from catalog: RunCatalog) async throws {
        let column = state.state == nil ? "  \(catalog.state)" : ""
        let info: RunCatalog.Info
        do {
            info = try await catalog.info(id)
        } catch let error as RunError where error.code == .notFound {
            // A run whose planning never finished: it holds no spec.
            print(json
                ? JSONLine.encode(["runID": id, "status": "incomplete", "state": catalog.state])
                : "\(id)  incomplete (planning did not finish; `fanout gc` can delete it)\(column)")
            return
        }
        guard !json else {
            var fields = (try? JSONSerialization.jsonObject(with: Data(JSONLine.encode(info).utf8)))
                as? [String: Any] ?? [:]
            fields["state"] = catalog.state
            print(JSONLine.encode(fields))
            return
        }
        let status = info.status.padding(toLength: 10, withPad: " ", startingAt: 0)
        let what = info.stepParameters.flatMap(CommandStep.decode).map { ShellWords.join($0.command) } ?? info.step
        let files = String(info.files).leftPadded(to: 8) + " " + CountText.noun(info.files, "file ", plural: "files")
        print("\(id)  \(status)  \(files)  \(what)  \(info.input)\(column)")
    }

    /// The default prefix (`FANOUT_STATE`, else the user's state folder) and those of the runs in this machine's
    /// ``RunIndex``, each once.
    static func knownPrefixes(environment: [String: String]) -> [String] {
        var prefixes = [StateOption.prefix(flag: nil, environment: environment)]
        for entry in RunIndex(environment: environment).entries() where !prefixes.contains(entry.state) {
            prefixes.append(entry.state)
        }
        return prefixes
    }

    private func printClusterRuns() async throws {
        let runs = KubernetesRuns(client: try cluster.client(environment: try ConfigurationFile.effectiveEnvironment()))
        let listed = try await runs.list().prefix(limit)
        if json {
            for run in listed {
                var fields: [String: Any] = [
                    "source": "cluster", "namespace": runs.namespace, "runID": run.runID, "status": run.status,
                    "jobs": run.jobs, "activePods": run.activePods, "succeededPods": run.succeededPods,
                    "failedPods": run.failedPods,
                ]
                if let step = run.step { fields["step"] = step }
                if let created = run.createdAt { fields["createdAt"] = created }
                print(JSONLine.encode(fields))
            }
            return
        }
        print("\non the cluster, namespace \(runs.namespace):")
        if listed.isEmpty { print("no runs with Jobs") }
        for run in listed {
            let pods = "\(run.activePods) running, \(run.succeededPods) done, \(run.failedPods) failed"
            print("\(run.runID)  \(run.status.padding(toLength: 10, withPad: " ", startingAt: 0))  \(run.jobs) Job\(run.jobs == 1 ? "" : "s")  pods: \(pods)  \(run.step ?? "")")
        }
    }
}

struct ResultsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "results",
        abstract: "Print a command run's stored results, folded or per file, without running anything.",
        discussion: """
            Examples:
              fanout results 20261124-203512-9f3c01ab --reduce sum
              fanout results 20261124-203512-9f3c01ab --reduce jsonl > per-file.jsonl
            """
    )

    @Argument(help: "The run id.") var runID: String
    @Option(help: "How to fold outputs (default: the run's own --reduce).") var reduce: ReduceMode?
    @Option(name: .shortAndLong, help: "Write the result to this file.") var output: String?
    @Option(help: ArgumentHelp("Failed files allowed: a count or a percentage (default: the run's own).", valueName: "n|p%"))
    var tolerateFailures: String?
    @OptionGroup var state: StateOption
    @OptionGroup(title: "S3") var storage: StorageOptions

    func validate() throws {
        if let tolerateFailures, FailureTolerance(text: tolerateFailures) == nil {
            throw ValidationError("--tolerate-failures takes a count (3) or a percentage (2.5%), not '\(tolerateFailures)'")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let fanout = Fanout(stores: try storage.stores())
            let prefix = try state.resolved(for: runID)
            let info = try await RunCatalog(state: prefix, stores: fanout.stores).infoExplained(runID)
            guard let parameters = info.stepParameters, let command = CommandStep.decode(parameters) else {
                throw RunError(code: .invalidInput, message: "run \(runID) is not a `fanout run` command run")
            }
            // As the run was started, unless told otherwise: the same reducer, and the same exit status.
            let recorded = try? RunSettings.resumed(
                location: info.input, recorded: info.settings ?? [], given: [], command: command.command)
            let tolerance = (tolerateFailures ?? recorded?.execution.tolerateFailures).flatMap(FailureTolerance.init(text:))
                ?? FailureTolerance.none
            var replaying = fanout
            replaying.options.tolerance = tolerance
            let run = try await replaying.results(of: command.step, runID: runID, state: prefix)
            try await fold(
                run, mode: reduce ?? recorded?.reduce ?? .lines, output: output, tolerance: tolerance,
                progress: ProgressReporter(style: .quiet))
        }
    }
}

struct AttachCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach",
        abstract: "Re-attach to a command run: replay its stored results, run its unfinished shards, fold.",
        discussion: """
            Use it after an interrupted `fanout run` (Ctrl-C, a lost terminal): finished files are not run again.

            The command a run executes is read from its state, which anyone who can write the state prefix could \
            change; so attach runs it only when you repeat it after -- (the same words), or confirm the stored one \
            with --run-stored-command. Without either, it shows the stored command and settings and exits 64.

            Examples:
              fanout attach 20261124-203512-9f3c01ab --reduce sum -- wc -l {}
              fanout attach 20261124-203512-9f3c01ab --backend processes --workers 8 -- wc -l {}
              fanout attach 20261124-203512-9f3c01ab --run-stored-command
            """
    )

    @Argument(help: "The run id.") var runID: String
    @Argument(
        parsing: .postTerminator,
        help: ArgumentHelp("The run's command, repeated, to confirm it (after --).", valueName: "command"))
    var command: [String] = []

    @Flag(help: "Run the command stored with the run without repeating it.")
    var runStoredCommand = false

    @Flag(help: "Take the run from another driver that still holds it; that driver stops and leaves its workers (and Jobs) to this one.")
    var takeOver = false

    @Option(help: "How to fold outputs (as for fanout run).") var reduce: ReduceMode = .lines
    @Option(name: .shortAndLong, help: "Write the result to this file.") var output: String?
    @Option(help: ArgumentHelp("Log each file to FILE (as for fanout run).", valueName: "file")) var joblog: String?
    @OptionGroup(title: "Where it runs") var execution: ExecutionOptions
    @OptionGroup(title: "Kubernetes (--backend kubernetes)") var kubernetes: KubernetesOptions
    @OptionGroup(title: "Output") var display: DisplayOptions
    @OptionGroup(title: "S3") var storage: StorageOptions

    func run() async throws {
        try await reportingErrors {
            if let pid = DetachedDriver(runID: runID).runningProcess() {
                throw RunError(
                    code: .invalidInput,
                    message: "run \(runID) is being driven in the background (process \(pid)): follow it with "
                        + "`fanout status \(runID)` and read it with `fanout results \(runID)`, or stop it with "
                        + "`fanout cancel \(runID)` before attaching")
            }
            for (flag, given) in [
                ("--dry-run", execution.dryRun), ("--no-cache", execution.noCache), ("--shards", execution.shards != nil),
                ("--files-per-shard", execution.filesPerShard != nil), ("--bytes-per-shard", execution.bytesPerShard != nil),
            ] where given {
                throw UsageError(message: "\(flag) has no meaning for attach: the run's plan is stored; start a new run with `fanout run` to change it")
            }
            let environment = try ConfigurationFile.effectiveEnvironment()
            let state = StateOption.prefix(flag: execution.state, runID: runID, environment: environment)
            let info = try await RunCatalog(state: state, stores: try storage.stores()).infoExplained(runID)
            guard let parameters = info.stepParameters, let stored = CommandStep.decode(parameters) else {
                throw RunError(code: .invalidInput, message: "run \(runID) is not a `fanout run` command run; attach to it from the program that started it")
            }
            let command = try confirmedCommand(stored, info: info)
            // The run goes on as it was started (its recorded flags), with the flags given now on top.
            let resumed = try resumedRun(info: info, command: command)
            var execution = resumed.execution
            if execution.backend == nil && environment["FANOUT_BACKEND"] == nil {
                execution.backend = info.backend == "in-process" ? "local" : info.backend
            }
            // Workers are started as the `fanout run` this resumes, which reaches the same step in a pod too.
            var options = try execution.runOptions(
                kubernetes: resumed.kubernetes, environment: environment, workerArguments: resumedArguments(info))
            options.state = state
            options.lease.takeOver = takeOver
            if !options.backend.needsSharedState { try command.checkProgramForUsage() }
            var fanout = Fanout(options: options, stores: try resumed.storage.stores())
            let progress = ProgressReporter(style: ProgressReporter.style(quiet: display.quiet, json: display.json))
            fanout.options.onEvent = { progress.backend($0) }
            let jobLog = try resumed.openJobLog(step: command, backend: options.backend.name)
            let run = try await fanout.attach(command.step, runID: runID, state: state)
            progress.started(runID: run.id, shards: run.shardCount, backend: options.backend.name, files: run.fileCount)
            let (reduce, output, tolerance) = (
                resumed.reduce, resumed.output ?? (display.json ? "/dev/null" : nil), options.tolerance
            )
            try await Interruption.run(runID: run.id, state: state) {
                try await fold(
                    run, mode: reduce, output: output, tolerance: tolerance, progress: progress, jobLog: jobLog)
            }
        }
    }

    /// The flags given to this attach that concern the run.
    private var givenFlags: [String] {
        RunSettings.attachFlags(
            Array(CommandLine.arguments.drop { $0 != "attach" }.dropFirst()), runID: runID,
            own: ["--run-stored-command", "--take-over"])
    }

    /// The arguments of the `fanout run` this attach resumes, as workers are started with them.
    private func resumedArguments(_ info: RunCatalog.Info) -> [String] {
        let command = info.stepParameters.flatMap(CommandStep.decode)?.command ?? []
        return RunSettings.arguments(location: info.input, recorded: info.settings ?? [], given: givenFlags, command: command)
    }

    /// The `fanout run` this attach resumes: the run's recorded flags, then the ones given to attach.
    private func resumedRun(info: RunCatalog.Info, command: CommandStep) throws -> RunCommand {
        let given = givenFlags
        do {
            return try RunSettings.resumed(
                location: info.input, recorded: info.settings ?? [], given: given,
                command: command.command)
        } catch {
            throw UsageError(message: "run \(runID)'s recorded settings cannot be used: \(RunCommand.message(for: error))")
        }
    }

    /// The stored command, once the user has confirmed it: repeated after `--`, or `--run-stored-command`.
    /// - Throws: ``UsageError`` showing the stored command and settings otherwise, or naming both commands when
    ///   they differ.
    private func confirmedCommand(_ stored: CommandStep, info: RunCatalog.Info) throws -> CommandStep {
        let storedText = ShellWords.join(stored.command) + (stored.stdin ? " (with --stdin)" : "")
        if !command.isEmpty {
            guard CommandStep.appendingFile(to: command, stdin: stored.stdin) == stored.command else {
                throw UsageError(
                    message: "run \(runID) runs `\(storedText)`, not `\(ShellWords.join(command))`: repeat the "
                        + "run's own command after --, or start a new run with `fanout run` for another one")
            }
        } else if !runStoredCommand {
            throw UsageError(message: """
                run \(runID) would run, as stored in its state:
                  command  \(storedText)
                  input    \(info.input) (\(CountText.of(info.files, "file")) in \
                \(CountText.of(info.shards, "shard")), \(info.committedShards) done)
                  backend  \(info.backend)\((info.placement ?? [:]).sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined())
                  flags    \(info.settings.map { $0.isEmpty ? "none" : ShellWords.join($0) } ?? "not recorded")
                To run it, repeat the command: fanout attach \(runID) -- \(ShellWords.join(stored.command))
                or confirm the stored one with --run-stored-command.
                """)
        }
        do {
            try stored.validate()
        } catch {
            throw UsageError(message: "run \(runID)'s stored command cannot run safely: \(error.message)")
        }
        return stored
    }
}

struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Stop a run's workers.",
        discussion: """
            A run started with `fanout run --detach` on this machine is driven by a background process: this \
            command stops it and its workers (on Kubernetes, the driver deletes the run's Jobs as it stops). A \
            Kubernetes run whose driver is gone (killed, or on another machine) has its Jobs, and so its pods, \
            deleted here, in --namespace. Other runs on the local and processes backends live in their driver: \
            stop them with Ctrl-C. Either way the stored results stay, and `fanout attach RUN` resumes the run.

            Examples:
              fanout cancel 20261124-203512-9f3c01ab
              fanout cancel 20261124-203512-9f3c01ab --context prod --namespace batch
            """
    )

    @Argument(help: "The run id.") var runID: String
    @OptionGroup var state: StateOption
    @OptionGroup(title: "Kubernetes") var cluster: ClusterOptions
    @OptionGroup(title: "S3") var storage: StorageOptions

    func run() async throws {
        try await reportingErrors {
            // A background driver on this machine is found by its process, wherever the run's state is.
            let driver = DetachedDriver(runID: runID)
            if let pid = driver.runningProcess() {
                guard await driver.stop(pid: pid) else {
                    throw RunError(
                        code: .backendFailed,
                        message: "the background driver of run \(runID) (process \(pid)) did not stop within 150s; "
                            + "stop it with `kill -KILL -\(pid)`")
                }
                print("run \(runID): stopped its background driver (process \(pid)); `fanout attach \(runID)` resumes it")
                return
            }
            let catalog = try RunCatalog(state: try state.resolved(for: runID), stores: try storage.stores())
            let info = try await catalog.infoExplained(runID)
            if info.backend == "kubernetes" || info.backend == "fleet" {
                let outcomes = try await ClusterCleanup(runID: runID, info: info, catalog: catalog, flags: cluster).run()
                var failures = 0
                for outcome in outcomes {
                    let on = outcome.cluster.map { " on cluster \($0)" } ?? ""
                    switch outcome.deleted {
                    case .success(0):
                        print("run \(runID) has no Jobs in namespace \(outcome.namespace)\(on); if it ran in another one, give --namespace (and --context)")
                    case .success(let deleted):
                        print("run \(runID): deleted its \(deleted) Job\(deleted == 1 ? "" : "s")\(on) and so their pods; `fanout attach \(runID)` resumes it")
                    case .failure(let error):
                        // A run on one cluster fails with the cluster's own error, as before fleets.
                        guard let name = outcome.cluster else { throw error }
                        failures += 1
                        FileHandle.standardError.write(Data(
                            "fanout: \(ClusterCleanup.failure(error, cluster: name, runID: runID))\n".utf8))
                    }
                }
                if failures > 0 { throw ExitCode.failure }
                return
            }
            guard info.backend == "in-process" || info.backend == "processes" else { return }
            print("run \(runID) ran on the \(info.backend) backend: its workers stopped with its driver; nothing to cancel")
        }
    }
}

/// Folds a command run's outcomes into `output` (or standard output), reporting progress.
///
/// An output the reducer cannot take (not a number for `sum`, not JSON for `jsonl`, not UTF-8 text for either) is
/// that file's failure, and counts against `tolerance` like the command's own failures: beyond it, nothing is
/// written to `output` and the command fails. Exits 3 when some files failed within the tolerance.
func fold(
    _ run: MapRun<CommandOutput>, mode: ReduceMode, output: String?, tolerance: FailureTolerance,
    progress: ProgressReporter, jobLog: JobLog? = nil
) async throws {
    let sink = try OutputSink(path: output)
    var reducer = OutputReducer(mode: mode, sink: sink)
    var unreadable: [String] = []
    do {
        for try await outcome in run {
            var failure = outcome.failure?.message
            if let value = outcome.value {
                do {
                    try reducer.add(key: outcome.key, output: value)
                } catch {
                    failure = "\(error)"
                    unreadable.append("\(error)")
                }
            }
            progress.file(key: outcome.key, failure: failure, cached: outcome.cached)
            jobLog?.record(outcome)
        }
        if !unreadable.isEmpty {
            let shown = unreadable.prefix(5).map { "  " + $0 }.joined(separator: "\n")
            let more = unreadable.count > 5 ? "\n  ... and \(unreadable.count - 5) more" : ""
            Terminal.shared.note(
                "\(CountText.of(unreadable.count, "file output")) could not be folded by --reduce \(mode.rawValue):\n"
                    + shown + more)
            guard tolerance.allows(failed: progress.failed, total: run.fileCount) else {
                throw ReduceError(
                    message: "\(progress.failed) of \(CountText.of(run.fileCount, "file")) failed or printed what "
                        + "--reduce \(mode.rawValue) cannot take, more than the run tolerates; fix the command or "
                        + "choose another --reduce")
            }
        }
        try run.checkTolerance(tolerance)
        try reducer.finish()
    } catch {
        sink.abandon()
        progress.finished()
        throw error
    }
    var extra: [String: Any] = ["run": run.id, "result": reducer.jsonValue as Any]
    let requests = run.summary?.controlPlaneRequests
    if let requests { extra["apiRequests"] = requests }
    let histories = run.summary?.shardHistories ?? [:]
    if !histories.isEmpty {
        extra["shards"] = Dictionary(uniqueKeysWithValues: histories.map { (String($0.key), $0.value) })
    }
    // Shards' histories go to --json and `fanout status`; the terminal saw them as notices while they happened.
    progress.finished(extra: extra, detail: requests.map { "\($0) Kubernetes API requests" })
    if progress.failed > 0 { throw ExitCode(3) }
}
