import ArgumentParser
import Fanout
import Foundation

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a command on every file under a prefix and fold the outputs here.",
        discussion: """
            For each file, COMMAND runs with placeholders replaced (a command that names none gets the file's path \
            appended, as with xargs and GNU parallel, unless --stdin gives it the file): {} an absolute local path to the file \
            (downloaded when remote), {key}, {name}, {url} a presigned URL, {size}, and as in GNU parallel, taken \
            from the key: {.} the key without extension, {/} its last component, {//} its folder, {/.} its last \
            component without extension. The same values are in the command's environment as FANOUT_FILE, \
            FANOUT_KEY, FANOUT_NAME, FANOUT_URL, FANOUT_SIZE, FANOUT_KEY_NOEXT, FANOUT_BASENAME, FANOUT_DIRNAME and \
            FANOUT_STEM. With --stdin \
            the file is its standard input. What the command prints is the file's result; a non-zero exit is the \
            file's failure, with the end of its standard error.

            No file name runs as code. No shell sees the command: a placeholder is replaced as it is, and one that \
            is a whole argument is passed verbatim. In the script of sh, bash, dash or zsh -c, a placeholder becomes \
            one single-quoted word, so sh -c 'wc -l < {}' is safe; inside double quotes there it is refused (write \
            {} unquoted, or "$FANOUT_FILE"). Programs that read an argument as code (python -c, awk, jq) should get \
            the file as a whole argument or from the environment, never inside their program text.

            Results are stored under the state prefix as they are made, so a re-run of the same command over the \
            same files reuses them and recomputes only new, changed or failed files.

            With --detach the run is planned and stored, its id printed, and the command returns at once while a \
            driver process of its own (this binary again, in the background) runs the shards on the chosen backend \
            and folds the results, into --output when given; on Kubernetes the pods run in the cluster and the \
            background driver follows them. Its log is $XDG_STATE_HOME/fanout/runs/RUN.log (default \
            ~/.local/state/...). Then `fanout status RUN` shows how it goes, `fanout results RUN` prints the \
            results, `fanout logs RUN` the failures and the log, and `fanout cancel RUN` stops it.

            Defaults: a flag wins over its environment variable (FANOUT_BACKEND, FANOUT_STATE, FANOUT_CONTEXT, \
            FANOUT_NAMESPACE, FANOUT_IMAGE), which wins over the configuration file ($FANOUT_CONFIG, else \
            ~/.config/fanout/config: `key = value` lines with the keys backend, state, context, namespace, image, and \
            any flag of this command without its dashes, such as `reduce = sum` or `no-cache = true`).

            Ctrl-C stops the run cleanly: the commands and workers are stopped (on Kubernetes the run's Jobs are \
            deleted and their pods waited out) and the results stored so far stay; `fanout attach RUN` resumes. A \
            second Ctrl-C quits at once.

            Exit status: 0 every file succeeded; 3 some files failed within --tolerate-failures; 1 the run failed; \
            64 the command line or the configuration file is wrong (or the command is not on PATH); 130 stopped \
            by Ctrl-C or SIGTERM.

            Examples:
              fanout run ./logs --reduce sum -- wc -l {}
              fanout run s3://bucket/json/ --reduce merge-json -- jq -c '{(.status|tostring): 1}' {}
              fanout run s3://bucket/images/ --include '*.png' --reduce jsonl -- identify -format '{"w":%w}' {}
              fanout run ./data --backend processes --workers 8 --tolerate-failures 1% -- ./convert.sh {} {name}
              fanout run ./photos -j 8 --fail-fast -- convert {} out/{/.}.webp
              fanout run ./logs --reduce sum --accept-exit 0,1 --timeout 5m -- grep -c ERROR {}
              git diff --name-only | fanout run . --files-from - -- ./lint.sh
              fanout run s3://bucket/logs/ --stdin --reduce sum -- awk '/ERROR/ {n++} END {print n+0}'
              fanout run ./logs --reduce sum -- sh -c 'grep -c ERROR {} || true'
              fanout run ./data -- sh -c 'gzip -c "$FANOUT_FILE" | wc -c'
              fanout run ./logs --dry-run -- wc -l {}
              fanout run s3://bucket/big/ --backend kubernetes --detach --json -- ./process.sh {}
            """
    )

    @Argument(help: ArgumentHelp("s3://BUCKET/PREFIX, gs://BUCKET/PREFIX, file:///PATH, or a local path.",
        valueName: "prefix"))
    var location: String

    @Argument(parsing: .postTerminator, help: ArgumentHelp("The command to run per file, after --.", valueName: "command"))
    var command: [String] = []

    @Flag(help: "Give each file to the command on standard input instead of as {}.")
    var stdin = false

    @Option(help: ArgumentHelp(
        "How to fold outputs: lines (as they arrive), concat (in key order), count (files that succeeded), "
            + "sum (first number of each line), jsonl ({key, value} per file), merge-json (add numbers, merge "
            + "objects), none.", valueName: "mode"))
    var reduce: ReduceMode = .lines

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the result to FILE (atomically) instead of standard output.",
        valueName: "file"))
    var output: String?

    @Option(help: ArgumentHelp(
        "Log each file to FILE as GNU parallel's --joblog does (Seq, Host, Starttime, JobRuntime, Send, Receive, "
            + "Exitval, Signal, Command), with the shard attempt as a last column.", valueName: "file"))
    var joblog: String?

    @Flag(help: "Store the plan, print the run id and return; a background driver runs and folds the run.")
    var detach = false

    /// Set in the background driver of a detached run: the run to re-attach to, instead of planning a new one.
    @Option(help: .hidden) var detachedRun: String?
    @Option(help: .hidden) var detachedState: String?
    /// The run's digest as it was planned, so the background driver runs only that spec.
    @Option(help: .hidden) var detachedDigest: String?

    @OptionGroup(title: "Per file") var perFile: ParallelOptions
    @OptionGroup(title: "Where it runs") var execution: ExecutionOptions
    @OptionGroup(title: "Kubernetes (--backend kubernetes)") var kubernetes: KubernetesOptions
    @OptionGroup(title: "Which files") var filters: FilterOptions
    @OptionGroup(title: "Which files") var filesFrom: FilesFromOption
    @OptionGroup(title: "Output") var display: DisplayOptions
    @OptionGroup(title: "S3") var storage: StorageOptions

    func validate() throws {
        guard !command.isEmpty else {
            throw ValidationError("give the command after --, for example: fanout run ./logs -- wc -l {}")
        }
        if stdin && command.contains(where: { $0.contains("{}") }) {
            throw ValidationError("--stdin gives the file on standard input: drop {} from the command, or drop --stdin")
        }
        do {
            try CommandStep(command: command, stdin: stdin).validate()
        } catch {
            throw ValidationError(error.message)
        }
    }

    func run() async throws {
        try await reportingErrors {
            let environment = try ConfigurationFile.effectiveEnvironment()
            let commandStep = CommandStep(
                command: CommandStep.appendingFile(to: command, stdin: stdin), stdin: stdin,
                limits: try perFile.limits())
            // Workers get the run's arguments; a dry run's show what the real run's would get.
            var options = try execution.runOptions(
                kubernetes: kubernetes, environment: environment,
                workerArguments: Array(EffectiveArguments.current.dropFirst()).filter { $0 != "--dry-run" })
            try perFile.applyHalt(to: &options, tolerateFailures: execution.tolerateFailures)
            var fanout = Fanout(options: options, stores: try storage.stores())
            if let detachedRun {
                try await driveDetached(fanout: fanout, step: commandStep, runID: detachedRun)
                return
            }
            try SharedStateRequirement.check(fanout.options, input: location, environment: environment)
            // Workers on other machines (pods) run the command in their image, where this PATH says nothing.
            if !fanout.options.backend.needsSharedState { try commandStep.checkProgramForUsage() }
            let input = try filesFrom.input(location: location, filter: try filters.filter())
            fanout.options.recordedSettings = RunSettings.recordable(
                Array(EffectiveArguments.current.drop { $0 != "run" }.dropFirst()), location: location)
            if execution.dryRun {
                try await printPlan(fanout: fanout, input: input, step: commandStep)
                return
            }
            let progress = ProgressReporter(style: ProgressReporter.style(quiet: display.quiet, json: display.json))
            fanout.options.onEvent = { progress.backend($0) }
            let jobLog = try openJobLog(step: commandStep, backend: fanout.options.backend.name)
            let run = try await fanout.map(commandStep.step, over: input)
            RunIndex(environment: environment).record(runID: run.id, state: run.stateLocation, input: location)
            if detach {
                // The background driver takes the run over.
                await run.releaseLease()
                try startDetached(run, backend: fanout.options.backend.name)
                return
            }
            progress.started(
                runID: run.id, shards: run.shardCount, backend: fanout.options.backend.name, files: run.fileCount)
            let (reduce, output, tolerance) = (self.reduce, output ?? (display.json ? "/dev/null" : nil), fanout.options.tolerance)
            try await Interruption.run(runID: run.id, state: run.stateLocation) {
                try await fold(
                    run, mode: reduce, output: output, tolerance: tolerance, progress: progress, jobLog: jobLog)
            }
        }
    }

    /// The `--joblog` of this run, created empty with its header; `nil` without the flag.
    func openJobLog(step: CommandStep, backend: String) throws -> JobLog? {
        try joblog.map { try JobLog(path: $0, step: step, location: location, backend: backend) }
    }

    /// Starts the background driver of a stored run and prints how to follow it.
    private func startDetached(_ run: MapRun<CommandOutput>, backend: String) throws {
        let driver = DetachedDriver(runID: run.id)
        let arguments = try DetachedDriver.driverArguments(
            Array(CommandLine.arguments.dropFirst()), runID: run.id, state: run.stateLocation, digest: run.digest)
        let pid = try driver.start(arguments: arguments)
        if display.json {
            print(JSONLine.encode([
                "event": "detached", "run": run.id, "state": run.stateLocation, "files": run.fileCount,
                "shards": run.shardCount, "backend": backend, "pid": Int(pid), "log": driver.logPath,
            ]))
            return
        }
        print(run.id)
        if !display.quiet {
            FileHandle.standardError.write(Data("""
                run \(run.id): \(CountText.of(run.fileCount, "file")) in \(CountText.of(run.shardCount, "shard")) \
                on \(backend), driven in the background (process \(pid), log \(driver.logPath))
                follow it:  fanout status \(run.id) --state \(run.stateLocation)
                results:    fanout results \(run.id) --state \(run.stateLocation) --reduce \(reduce.rawValue)

                """.utf8))
        }
    }

    /// In the background driver of a detached run: runs and folds the stored run; SIGTERM cancels it.
    private func driveDetached(fanout: Fanout, step: CommandStep, runID: String) async throws {
        var fanout = fanout
        let progress = ProgressReporter(style: .periodic)
        fanout.options.onEvent = { progress.backend($0) }
        // The background driver is always started with the run's state (`DetachedDriver.driverArguments`).
        guard let state = detachedState else {
            throw UsageError(message: "--detached-run needs --detached-state: start runs in the background with --detach")
        }
        guard let digest = detachedDigest else {
            throw UsageError(message: "--detached-run needs --detached-digest: start runs in the background with --detach")
        }
        let (reduce, output, driver, tolerance) = (self.reduce, self.output ?? "/dev/null", fanout, fanout.options.tolerance)
        // `fanout cancel` sends SIGTERM, from the first moment on: the run stops its workers and deletes its Jobs
        // before this exits.
        let jobLog = try openJobLog(step: step, backend: fanout.options.backend.name)
        try await Interruption.run(runID: runID, state: state) {
            // A worker started by the backend returns from `attach` only in the driver.
            let run = try await driver.attach(step.step, runID: runID, state: state, digest: digest)
            DetachedDriver.leadProcessGroup()
            progress.started(
                runID: run.id, shards: run.shardCount, backend: driver.options.backend.name, files: run.fileCount)
            try await fold(run, mode: reduce, output: output, tolerance: tolerance, progress: progress, jobLog: jobLog)
        }
    }

    private func printPlan(fanout: Fanout, input: Input, step: CommandStep) async throws {
        let (plan, objects) = try await fanout.preview(step.step, over: input)
        if let objects {
            // What the backend would create (Kubernetes: the Jobs, for `kubectl apply --dry-run=server -f -`).
            print(objects, terminator: objects.hasSuffix("\n") ? "" : "\n")
            return
        }
        let largest = plan.largestShard
        if display.json {
            print(JSONLine.encode([
                "files": plan.fileCount, "bytes": Int(plan.byteCount), "shards": plan.shards.count,
                "largestShard": ["index": largest?.index ?? 0, "files": largest?.files.count ?? 0,
                                 "bytes": Int(largest?.bytes ?? 0)],
                "command": command, "backend": fanout.options.backend.name,
                "commandLines": try DryRunCommands.lines(step: step, plan: plan, location: location),
            ]))
            return
        }
        let (files, shards) = (CountText.of(plan.fileCount, "file"), CountText.of(plan.shards.count, "shard"))
        print("\(files), \(ByteCountText.human(plan.byteCount)), \(shards) on \(fanout.options.backend.name)")
        if let largest {
            let files = CountText.of(largest.files.count, "file")
            print("largest shard: #\(largest.index), \(files), \(ByteCountText.human(largest.bytes))")
        }
        print("command: \(command.joined(separator: " "))")
        let lines = try DryRunCommands.lines(step: step, plan: plan, location: location)
        print("the first \(lines.count == 1 ? "file runs" : "\(lines.count) files run"):")
        for line in lines { print("  \(line)") }
        print("nothing was run (--dry-run)")
    }
}

extension ReduceMode: ExpressibleByArgument {}

/// Flags that choose the backend and how work is cut and retried.
struct ExecutionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("local (threads in this process), processes (worker processes of this binary), "
        + "kubernetes (Jobs on a cluster). Default: FANOUT_BACKEND, else `backend` in the configuration file, "
        + "else local.", valueName: "name"))
    var backend: String?

    @Option(parsing: .unconditional, help: "Worker processes for --backend processes (default: cores).")
    var workers: Int?

    @Option(name: [.customLong("parallelism"), .customShort("j"), .customLong("jobs")], parsing: .unconditional,
        help: "local and processes: files in flight, as GNU parallel's -j (default: 2 x cores for local, 4 per worker process). kubernetes: pods at once, the Job's parallelism (default: every shard at once, at most 1,000).")
    var parallelism: Int?

    @Option(parsing: .unconditional, help: "Cut the files into this many shards.")
    var shards: Int?

    @Option(parsing: .unconditional, help: "Cut the files into shards of about this many files (default: 256 for processes and kubernetes; four shards a core of 256 to 10,000 files for local).")
    var filesPerShard: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Cut the files into shards of about this many bytes: 512MiB, 2GB, ...", valueName: "size"))
    var bytesPerShard: ByteSize?

    @Option(parsing: .unconditional, help: "Extra attempts for a shard whose worker failed. Disruptions (preemption, eviction, a node drained) and OOM kills below --max-memory use none.")
    var retries: Int = 2

    @Option(parsing: .unconditional, help: ArgumentHelp("Disruptions (preemption, eviction, a node drained) a shard may suffer before it fails; they never use a retry. Default 10.", valueName: "n"))
    var disruptionBudget: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Failed files allowed before the run fails: a count or a percentage (5%). Default 0.",
        valueName: "n|p%"))
    var tolerateFailures: String?

    @Option(help: ArgumentHelp("Where run state is kept (default: FANOUT_STATE, else `state` in the configuration "
        + "file, else ~/.local/state/fanout/state/ on this machine; --backend kubernetes needs one its pods can "
        + "reach).", valueName: "prefix"))
    var state: String?

    @Flag(help: "Never start a backup attempt for a shard far behind the others (by default one starts when the shard's projected time is over twice the median shard's; the first attempt to finish wins, the other is stopped).")
    var noBackups = false

    @Flag(help: "Recompute every file, ignoring stored results.")
    var noCache = false

    @Option(help: ArgumentHelp("How long this driver's hold on the run (its lease) lasts without renewal; it is renewed every third of that. A run whose driver died can be attached again after it. Default 60s.", valueName: "duration"))
    var leaseDuration: DurationText?

    @Flag(help: "Accept an input with no files, or none that pass the filters, as a run of nothing (exit 0). Without it, an empty input is an error: it is almost always a mistyped path or prefix.")
    var allowEmpty = false

    @Flag(help: ArgumentHelp("Print the plan (files, bytes, shards, largest shard) and the command lines of the first "
        + "files, shell-quoted, and run nothing."))
    var dryRun = false

    func validate() throws {
        if [shards != nil, filesPerShard != nil, bytesPerShard != nil].filter({ $0 }).count > 1 {
            throw ValidationError("use one of --shards, --files-per-shard and --bytes-per-shard")
        }
        if let tolerateFailures, FailureTolerance(text: tolerateFailures) == nil {
            throw ValidationError("--tolerate-failures takes a count (3) or a percentage (2.5%), not '\(tolerateFailures)'")
        }
        for (name, value) in [("--workers", workers), ("--parallelism", parallelism), ("--shards", shards),
                              ("--files-per-shard", filesPerShard)] {
            if let value, value < 1 { throw ValidationError("\(name) must be at least 1") }
        }
        if retries < 0 { throw ValidationError("--retries must be 0 or more") }
        if let disruptionBudget, disruptionBudget < 0 { throw ValidationError("--disruption-budget must be 0 or more") }
        if let bytesPerShard, bytesPerShard.bytes < 1 { throw ValidationError("--bytes-per-shard must be at least 1") }
        if let leaseDuration, leaseDuration.seconds < 3 { throw ValidationError("--lease-duration must be at least 3s") }
    }

    /// - Parameter workerArguments: what workers (worker processes, pods) are started with: a `fanout run` that
    ///   reaches the same step. Default: this process's arguments with the configuration file's flags applied.
    func runOptions(
        kubernetes: KubernetesOptions? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
        workerArguments: [String] = Array(EffectiveArguments.current.dropFirst())
    ) throws -> RunOptions {
        var options = RunOptions()
        let cores = ProcessInfoCores.count
        let fleetFile = kubernetes?.fleetFile(environment: environment)
        switch backend ?? environment["FANOUT_BACKEND"] ?? (fleetFile != nil ? "kubernetes" : "local") {
        case "local", "in-process":
            // At most `--parallelism` files at once: shards side by side times files in flight in each.
            let files = max(1, parallelism ?? 2 * cores)
            let shardsAtOnce = min(cores, files)
            options.backend = InProcessBackend(parallelism: shardsAtOnce, filesPerShardInFlight: files / shardsAtOnce)
        case "processes":
            options.backend = ProcessBackend(
                workers: workers ?? cores, filesInFlight: parallelism ?? 4, arguments: workerArguments)
        case "kubernetes", "k8s":
            guard let kubernetes else { throw ValidationError("--backend kubernetes is not available here") }
            let cluster = try kubernetes.backend(
                parallelism: parallelism, filesInFlight: nil, environment: environment, arguments: workerArguments)
            if let fleetFile {
                options.backend = try kubernetes.fleetBackend(path: fleetFile, options: cluster.options)
            } else {
                options.backend = cluster
            }
            options.memoryGrowth.maximumBytes = kubernetes.maxMemory.flatMap(ResourceQuantity.value)
        case let other:
            throw ValidationError("unknown --backend '\(other)': use local, processes or kubernetes")
        }
        if let shards { options.sharding = .shards(shards) }
        if let filesPerShard { options.sharding = .filesPerShard(filesPerShard) }
        if let bytesPerShard { options.sharding = .bytesPerShard(bytesPerShard.bytes) }
        options.retries = retries
        if let disruptionBudget { options.disruptionBudget = disruptionBudget }
        if let tolerateFailures { options.tolerance = FailureTolerance(text: tolerateFailures) ?? .none }
        options.state = state ?? environment["FANOUT_STATE"]
        options.cache = !noCache
        if noBackups { options.backups = nil }
        options.allowEmptyInput = allowEmpty
        if let leaseDuration { options.lease.duration = .seconds(leaseDuration.seconds) }
        return options
    }
}

/// Flags that choose files.
struct FilterOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Only keys matching this glob, relative to the prefix (repeatable; * matches /).",
        valueName: "glob"))
    var include: [String] = []

    @Option(help: ArgumentHelp("Skip keys matching this glob (repeatable).", valueName: "glob"))
    var exclude: [String] = []

    @Option(parsing: .unconditional, help: ArgumentHelp("Skip files smaller than this: 0, 10KiB, 5MB.", valueName: "size"))
    var minSize: ByteSize?

    @Option(parsing: .unconditional, help: ArgumentHelp("Skip files larger than this.", valueName: "size"))
    var maxSize: ByteSize?

    @Option(help: ArgumentHelp("Skip files modified before this date: 2024-05-01 or 2024-05-01T12:00:00Z.",
        valueName: "date"))
    var modifiedSince: String?

    func validate() throws {
        for (name, size) in [("--min-size", minSize), ("--max-size", maxSize)] {
            if let size, size.bytes < 0 { throw ValidationError("\(name) must be 0 or more") }
        }
    }

    func filter() throws -> FileFilter {
        var since: Date?
        if let modifiedSince {
            guard let date = DateText.parse(modifiedSince) else {
                throw ValidationError("--modified-since '\(modifiedSince)' is not a date; write 2024-05-01 or 2024-05-01T12:00:00Z")
            }
            since = date
        }
        return FileFilter(include: include, exclude: exclude, minSize: minSize?.bytes, maxSize: maxSize?.bytes, modifiedSince: since)
    }
}

/// Flags that shape what is printed.
struct DisplayOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "No progress on standard error.")
    var quiet = false

    @Flag(help: "JSON events on standard output (start, one per file, summary with the result) for scripts.")
    var json = false
}

/// A size typed as bytes or with a unit: 512, 10KiB, 5MB, 2GiB.
struct ByteSize: ExpressibleByArgument, Sendable {
    let bytes: Int64

    init?(argument: String) {
        let units: [(String, Int64)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
            ("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000),
            ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("B", 1),
        ]
        for (suffix, multiplier) in units where argument.hasSuffix(suffix) {
            guard let value = Double(argument.dropLast(suffix.count)),
                abs(value * Double(multiplier)) < Double(Int64.max)
            else { return nil }
            bytes = Int64(value * Double(multiplier))
            return
        }
        guard let value = Int64(argument) else { return nil }
        bytes = value
    }
}
