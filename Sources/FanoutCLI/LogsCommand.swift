import ArgumentParser
import Fanout
import Foundation

struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Show what a run recorded about its failures: pod logs, failed files' errors, the driver's log.",
        discussion: """
            Kubernetes runs: the log of each of the run's pods still on the cluster (found by the label \
            fanout.dev/run=RUN in --namespace), then the failed files. Runs on the local and processes backends: \
            each failed file's error with the end of its command's standard error, as stored in the run state, and \
            the log of the background driver of a run started with --detach on this machine.

            With -f (--follow), what is already recorded is shown, then what comes after, until the run finishes \
            (or no driver has held it for three checks in a row): new failed files, new lines of the background \
            driver's log, and new lines of each pod's log, each prefixed with [pod NAME].

            Examples:
              fanout logs 20261124-203512-9f3c01ab -f
              fanout logs 20261124-203512-9f3c01ab --state s3://my-bucket/fanout-state/
              fanout logs 20261124-203512-9f3c01ab --shard 7 --tail 50
              fanout logs 20261124-203512-9f3c01ab --json | jq -r 'select(.type == "failure") | .key'
            """
    )

    @Argument(help: "The run id.") var runID: String
    @Option(help: ArgumentHelp("Only this shard's pods and failed files.", valueName: "n")) var shard: Int?
    @Option(help: ArgumentHelp("Only the last lines of each pod's log.", valueName: "lines")) var tail: Int?
    @Flag(help: "Kubernetes: the log of each pod's previous, restarted container.") var previous = false
    @Flag(name: .shortAndLong, help: "Go on showing what the run records until it finishes.") var follow = false
    @OptionGroup(title: "Kubernetes") var cluster: ClusterOptions
    @Flag(help: "One JSON object a line: {type: pod|failure|driver, ...}.") var json = false
    @OptionGroup var state: StateOption
    @OptionGroup(title: "S3") var storage: StorageOptions

    func validate() throws {
        if let shard, shard < 0 { throw ValidationError("--shard must be 0 or more") }
        if let tail, tail < 1 { throw ValidationError("--tail must be at least 1") }
    }

    func run() async throws {
        try await reportingErrors {
            let environment = try ConfigurationFile.effectiveEnvironment()
            let prefix = state.resolved(for: runID, in: environment)
            let catalog = try RunCatalog(state: prefix, stores: try storage.stores())
            let info = try await catalog.infoExplained(runID)
            if let shard, shard >= info.shards {
                throw ValidationError("run \(runID) has \(info.shards) shard\(info.shards == 1 ? "" : "s"), "
                    + "numbered from 0: --shard \(shard) is not one of them")
            }
            if follow {
                try await LogFollower(command: self, catalog: catalog, environment: environment, placement: info.placement,
                    onKubernetes: ["kubernetes", "fleet"].contains(info.backend)).run()
                return
            }
            if ["kubernetes", "fleet"].contains(info.backend) {
                do {
                    try await printPodLogs(environment: environment, placement: info.placement)
                } catch {
                    // The stored failures below need no cluster.
                    let message = "cannot read the pods' logs: \(error)"
                    if json {
                        print(JSONLine.encode(["type": "pod", "error": message]))
                    } else {
                        FileHandle.standardError.write(Data("\(message)\n".utf8))
                    }
                }
            }
            printFailures(try await catalog.failures(runID, shard: shard))
            if shard == nil { printDriverLog() }
        }
    }

    private func printPodLogs(environment: [String: String], placement: [String: String]?) async throws {
        for (name, client) in try cluster.clients(environment: environment, placement: placement) {
            guard let name else { return try await printPodLogs(client: client) }
            if !json { print("=== cluster \(name) ===") }
            // One cluster that cannot be read does not hide the others.
            do {
                try await printPodLogs(client: client)
            } catch {
                let message = "cannot read the pods' logs on cluster \(name): \(error)"
                if json {
                    print(JSONLine.encode(["type": "pod", "cluster": name, "error": message]))
                } else {
                    FileHandle.standardError.write(Data("\(message)\n".utf8))
                }
            }
        }
    }

    private func printPodLogs(client: KubernetesClient) async throws {
        let pods = try await client.listAll(Pod.self, labelSelector: KubernetesLabels.selector(runID: runID)).items
            .filter { shard == nil || $0.fanoutShard == shard }
            .sorted { ($0.fanoutShard ?? -1, $0.metadata.creationTimestamp ?? "") < ($1.fanoutShard ?? -1, $1.metadata.creationTimestamp ?? "") }
        if pods.isEmpty && !json {
            print("no pods of run \(runID) in namespace \(client.namespace) (finished Jobs are deleted with their pods "
                + "after their time to live)")
        }
        for pod in pods {
            let name = pod.metadata.name ?? "?"
            var log: String
            var problem: String?
            do {
                log = try await client.logs(pod: name, tailLines: tail, previous: previous)
            } catch let error as KubernetesError {
                log = ""
                problem = error.message
            }
            if json {
                var fields: [String: Any] = ["type": "pod", "pod": name, "phase": pod.phase, "log": log]
                if let shard = pod.fanoutShard { fields["shard"] = shard }
                if let problem { fields["error"] = problem }
                print(JSONLine.encode(fields))
                continue
            }
            print("==> pod \(name), shard \(pod.fanoutShard.map(String.init) ?? "?"), \(pod.phase) <==")
            if let problem { print("(no log: \(problem))") }
            if !log.isEmpty { print(log.hasSuffix("\n") ? String(log.dropLast()) : log) }
        }
    }

    func printFailures(_ failures: [RunCatalog.FailedFile], header: Bool = true) {
        if json {
            for failure in failures {
                var fields: [String: Any] = [
                    "type": "failure", "key": failure.key, "attempt": failure.attempt, "message": failure.message,
                ]
                if let shard = failure.shard { fields["shard"] = shard }
                print(JSONLine.encode(fields))
            }
            return
        }
        let scope = shard.map { "shard \($0) of run \(runID)" } ?? "run \(runID)"
        guard header else {
            for failure in failures { printFailure(failure) }
            return
        }
        guard !failures.isEmpty else {
            print("\(scope): no failed files recorded")
            return
        }
        print("\(scope): \(failures.count) failed file\(failures.count == 1 ? "" : "s")")
        for failure in failures { printFailure(failure) }
    }

    private func printFailure(_ failure: RunCatalog.FailedFile) {
        let origin = failure.shard.map { "shard \($0)" } ?? "carried over"
        print("==> \(failure.key) (\(origin), attempt \(failure.attempt)) <==")
        print(failure.message)
    }

    /// The log of the background driver of a detached run, when it ran on this machine.
    private func printDriverLog() {
        let driver = DetachedDriver(runID: runID)
        guard let data = FileManager.default.contents(atPath: driver.logPath) else { return }
        let text = String(decoding: data, as: UTF8.self)
        if json {
            print(JSONLine.encode(["type": "driver", "path": driver.logPath, "log": text]))
            return
        }
        print("==> background driver log, \(driver.logPath) <==")
        if !text.isEmpty { print(text.hasSuffix("\n") ? String(text.dropLast()) : text) }
    }
}
