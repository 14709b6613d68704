// Line count over a prefix, mapped across a fleet of Kubernetes clusters declared below, in code: the fleet a team
// keeps in a package its scripts and launchers import. The run goes to the clusters that offer what it needs, split
// by their capacity, and the counts are added up here as they arrive (docs/FLEET.md says how placement works).
//
//   swift run fleet-line-count s3://my-bucket/logs/ --secret s3-credentials
//   swift run fleet-line-count s3://my-bucket/logs/ --accelerator nvidia-l4 --secret s3-credentials
//   swift run fleet-line-count s3://my-bucket/logs/ --placement
//
// Each cluster is reached through the kubeconfig context of its name, or through a kubeconfig file of its own in
// FLEET_<NAME>_KUBECONFIG. As written, the fleet describes the two Kubernetes API test servers that
// scripts/test-servers/start runs on this machine; a team writes its real clusters in their place.
// The executable ships itself to the pods through the state prefix, which every cluster's pods must reach.
import Fanout
import Foundation

let countLines = MapStep("count-lines", version: "1") { file -> Int in
    var lines = 0
    for try await _ in try await file.lines() { lines += 1 }
    return lines
}

// The same executable is its own worker: this returns at once here, and runs a shard and exits in a pod.
await Fanout.bootstrap(countLines)

let environment = ProcessInfo.processInfo.environment

/// How a cluster of the fleet is reached: its own kubeconfig file when one is set, else the context of its name.
func reach(_ name: String) -> (context: String?, kubeconfig: [String]?) {
    if let file = environment["FLEET_\(name.uppercased())_KUBECONFIG"] { return (nil, [file]) }
    return (name, nil)
}

/// The fleet: a cluster of plain machines, and one whose machines carry four NVIDIA L4 GPUs each.
func fleet(namespace: String?) -> Fleet {
    let (plain, gpus) = (reach("plain"), reach("gpus"))
    return Fleet(clusters: [
        FleetCluster(
            "plain", context: plain.context, kubeconfig: plain.kubeconfig, namespace: namespace,
            region: "test-region",
            zones: [FleetZone("test-zone-a", machineTypes: [FleetMachineType("test-standard", cpu: 4, memory: "16Gi")])],
            capacity: 4),
        FleetCluster(
            "gpus", context: gpus.context, kubeconfig: gpus.kubeconfig, namespace: namespace,
            region: "test-region-b",
            zones: [
                FleetZone(
                    "test-zone-b",
                    machineTypes: [FleetMachineType("test-gpu", cpu: 8, memory: "32Gi", accelerators: ["nvidia-l4": 4])])
            ],
            capacity: 2),
    ])
}

/// Ends the program with one line saying what went wrong, and status 1.
func fail(_ error: any Error) -> Never {
    let line = String(describing: error).split(separator: "\n").first ?? ""
    FileHandle.standardError.write(Data("fleet-line-count: \(line)\n".utf8))
    exit(1)
}

let arguments = CommandLine.arguments.dropFirst()
guard let input = arguments.first, !input.hasPrefix("-") else {
    print("usage: fleet-line-count PREFIX [--accelerator TYPE] [--namespace NAME] [--secret NAME] [--shards N] [--placement]")
    exit(2)
}
func text(_ name: String) -> String? {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.endIndex else { return nil }
    return arguments[index + 1]
}

do {
    let requirements = FleetRequirements(accelerator: text("--accelerator"))
    let shards = text("--shards").flatMap { Int($0) } ?? 6
    // Which clusters can serve the run, and how its shards would be shared: refused here, with the nearest
    // offers named, when no cluster can.
    let placements = try fleet(namespace: text("--namespace")).placements(for: requirements)
    if arguments.contains("--placement") {
        for (placement, share) in zip(placements, Fleet.apportion(shards, over: placements)) {
            let zones = placement.offers.map { "\($0.zone) \($0.machineType.name)" }.joined(separator: ", ")
            print("\(placement.cluster.name): \(share) of \(shards) shards on \(zones)")
        }
        exit(0)
    }

    var kubernetes = KubernetesBackend.Options()
    kubernetes.secretEnvironment = text("--secret").map { [$0] } ?? []
    // The pods reach the same S3 endpoint and region as this process.
    for name in ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION"] {
        if let value = environment[name] { kubernetes.environment[name] = value }
    }
    let backend = try FleetBackend(fleet: fleet(namespace: text("--namespace")), requirements: requirements, options: kubernetes)

    // Which cluster each shard's successful attempt ran on, from the run's events.
    let clusters = backend.places.map(\.name)
    let ranOn = ShardsByCluster()
    var options = RunOptions(backend: backend, sharding: .shards(shards))
    options.onEvent = { event in ranOn.observe(event, clusters: clusters) }
    let run = try await Fanout(options: options).map(countLines, over: Input(input))

    var total = 0
    var files = 0
    for try await outcome in run {
        files += 1
        if case .success(let lines) = outcome.result { total += lines }
    }
    try run.checkTolerance()
    print("\(files) files, \(total) lines (run \(run.id))")
    for (cluster, count) in ranOn.counts.sorted(by: { $0.key < $1.key }) {
        print("\(cluster): \(count) shard\(count == 1 ? "" : "s")")
    }
} catch {
    fail(error)
}
