import ArgumentParser
import Fanout
import Foundation

struct FleetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "List a fleet's clusters and what they offer, and check that a run could use each one.",
        discussion: """
            For each cluster of the fleet file (docs/FLEET.md): its region, capacity, weight, and the machine types \
            each zone offers. Then, unless --no-check, whether it answers (its namespace is read) and whether this \
            user may do all a run needs there, asked as `kubectl auth can-i` asks (one SelfSubjectAccessReview per \
            verb: create, watch, patch and delete Jobs; watch and delete pods; read their logs; list events). \
            Exits 1 when a cluster cannot be reached or denies a verb, naming which.

            Examples:
              fanout fleet Examples/fleet.yaml
              fanout fleet fleet.yaml --json | jq '.[] | select(.denied != [])'
            """
    )

    @Argument(help: ArgumentHelp("The fleet file (default: FANOUT_FLEET).", valueName: "file")) var file: String?
    @Flag(help: "Print JSON: one object per cluster.") var json = false
    @Flag(help: "List the clusters without asking them anything.") var noCheck = false

    func run() async throws {
        try await reportingErrors {
            guard let path = file ?? ProcessInfo.processInfo.environment["FANOUT_FLEET"] else {
                throw ValidationError("name a fleet file, or set FANOUT_FLEET")
            }
            let fleet = try Fleet.load(contentsOf: path)
            var reports: [[String: Any]] = []
            var healthy = true
            for cluster in fleet.clusters {
                var report: [String: Any] = [
                    "name": cluster.name, "region": cluster.region, "capacity": cluster.capacity,
                    "weight": cluster.weight,
                    "zones": cluster.zones.map { zone in
                        ["name": zone.name, "machineTypes": zone.machineTypes.map(\.summary)] as [String: Any]
                    },
                ]
                if !noCheck {
                    let check = await Self.check(cluster)
                    report.merge(check) { _, checked in checked }
                    if check["reachable"] as? Bool != true || !((check["denied"] as? [String]) ?? []).isEmpty {
                        healthy = false
                    }
                }
                reports.append(report)
                if !json { print(Self.describe(report)) }
            }
            if json {
                let data = try JSONSerialization.data(withJSONObject: reports, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            }
            if !healthy { throw ExitCode.failure }
        }
    }

    /// Whether the cluster answers, where, and the verbs a run needs that it denies.
    static func check(_ cluster: FleetCluster) async -> [String: Any] {
        do {
            let client = try KubernetesClient(
                kubeconfig: cluster.kubeconfig, context: cluster.context, namespace: cluster.namespace)
            _ = try await client.get(Namespace.self, name: client.namespace)
            var denied: [String] = []
            for permission in KubernetesClient.runPermissions {
                let answer = try await client.canI(permission.verb, permission.resource, group: permission.group)
                if !answer.allowed {
                    let resource = permission.group.isEmpty
                        ? permission.resource : "\(permission.resource).\(permission.group)"
                    denied.append("\(permission.verb) \(resource)")
                }
            }
            var result: [String: Any] = ["reachable": true, "namespace": client.namespace, "denied": denied]
            result["context"] = client.configuration.contextName
            return result
        } catch {
            return ["reachable": false, "error": "\(error)".split(separator: "\n").first.map(String.init) ?? "", "denied": []]
        }
    }

    static func describe(_ report: [String: Any]) -> String {
        let name = report["name"] as? String ?? ""
        var lines = [
            "\(name): \(report["region"] ?? "") capacity \(report["capacity"] ?? 0), weight \(report["weight"] ?? 1)"
        ]
        for zone in report["zones"] as? [[String: Any]] ?? [] {
            let types = (zone["machineTypes"] as? [String] ?? []).joined(separator: "; ")
            lines.append("  \(zone["name"] ?? ""): \(types)")
        }
        if let reachable = report["reachable"] as? Bool {
            if !reachable {
                lines.append("  unreachable: \(report["error"] ?? "")")
            } else {
                let place = "namespace \(report["namespace"] ?? "")"
                    + ((report["context"] as? String).map { ", context \($0)" } ?? "")
                let denied = report["denied"] as? [String] ?? []
                lines.append(
                    denied.isEmpty
                        ? "  reachable (\(place)); may do all a run needs"
                        : "  reachable (\(place)); denied: \(denied.joined(separator: ", ")): grant the Role in "
                            + "docs/KUBERNETES.md")
            }
        }
        return lines.joined(separator: "\n")
    }
}
