import Foundation
import Testing
import Yams

@testable import FanoutKubernetes

extension KubernetesTests {
    @Suite struct FleetTests {
        static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Examples")

        /// `Examples/fleet.yaml`, declared in Swift.
        static let example = Fleet(clusters: [
            FleetCluster(
                "gke-us", context: "gke_acme_us-central1_batch", namespace: "fanout", region: "us-central1",
                zones: [
                    FleetZone(
                        "us-central1-a",
                        machineTypes: [
                            FleetMachineType("n2-standard-8", cpu: 8, memory: "32Gi", spot: true),
                            FleetMachineType(
                                "g2-standard-8", cpu: 8, memory: "32Gi", accelerators: ["nvidia-l4": 1], spot: true),
                            FleetMachineType(
                                "a3-highgpu-8g", cpu: 208, memory: "1872Gi", accelerators: ["nvidia-h100-80gb": 8]),
                        ]),
                    FleetZone(
                        "us-central1-b",
                        machineTypes: [FleetMachineType("n2-standard-8", cpu: 8, memory: "32Gi", spot: true)]),
                ],
                capacity: 200, spotNodeLabel: ["cloud.google.com/gke-spot": "true"],
                tolerations: [
                    Toleration(key: "cloud.google.com/gke-spot", operator: "Equal", value: "true", effect: "NoSchedule")
                ]),
            FleetCluster(
                "eks-eu", context: "arn:aws:eks:eu-west-1:123456789012:cluster/batch", region: "eu-west-1",
                zones: [
                    FleetZone(
                        "eu-west-1a",
                        machineTypes: [FleetMachineType("m6i.2xlarge", cpu: 8, memory: "32Gi", spot: true)]),
                    FleetZone(
                        "eu-west-1b",
                        machineTypes: [
                            FleetMachineType("m6i.2xlarge", cpu: 8, memory: "32Gi", spot: true),
                            FleetMachineType(
                                "p4d.24xlarge", cpu: 96, memory: "1152Gi", accelerators: ["nvidia-a100": 8],
                                spot: true, onDemand: false),
                        ]),
                ],
                capacity: 100, weight: 0.5, spotNodeLabel: ["eks.amazonaws.com/capacityType": "SPOT"],
                labels: ["team": "data"]),
            FleetCluster(
                "on-prem", region: "home",
                zones: [FleetZone("rack-1", machineTypes: [FleetMachineType("r7525", cpu: 64, memory: "512Gi")])],
                capacity: 32),
        ])

        /// A small valid cluster to break one rule at a time.
        static func cluster(_ name: String = "c", capacity: Int = 10, weight: Double = 1) -> FleetCluster {
            FleetCluster(
                name, region: "r",
                zones: [FleetZone("z", machineTypes: [FleetMachineType("t", cpu: 2, memory: "8Gi")])],
                capacity: capacity, weight: weight)
        }

        static func error<T>(_ body: () throws -> T) -> FleetError? {
            do {
                _ = try body()
                return nil
            } catch {
                return error as? FleetError
            }
        }

        static func temporaryFile(_ name: String, _ text: String) throws -> String {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let file = folder.appendingPathComponent(name)
            try text.write(to: file, atomically: true, encoding: .utf8)
            return file.path
        }

        @Test func theDocumentedExampleRunsAsDocumented() throws {
            // The example of Fleet's doc comment and docs/FLEET.md, as written there.
            let fleet = Fleet(clusters: [
                FleetCluster(
                    "gke-us", context: "gke_acme_us-central1_batch", namespace: "fanout", region: "us-central1",
                    zones: [
                        FleetZone(
                            "us-central1-a",
                            machineTypes: [
                                FleetMachineType("n2-standard-8", cpu: 8, memory: "32Gi", spot: true),
                                FleetMachineType(
                                    "g2-standard-8", cpu: 8, memory: "32Gi", accelerators: ["nvidia-l4": 1]),
                            ])
                    ],
                    capacity: 200, spotNodeLabel: ["cloud.google.com/gke-spot": "true"]),
                FleetCluster(
                    "eks-eu", context: "eks-eu", region: "eu-west-1",
                    zones: [
                        FleetZone(
                            "eu-west-1a", machineTypes: [FleetMachineType("m6i.2xlarge", cpu: 8, memory: "32Gi")]),
                        FleetZone(
                            "eu-west-1b", machineTypes: [FleetMachineType("m6i.2xlarge", cpu: 8, memory: "32Gi")]),
                    ],
                    capacity: 100, weight: 0.5),
            ])
            let gpus = try fleet.placements(for: FleetRequirements(accelerator: "nvidia-l4"))  // gke-us, us-central1-a
            #expect(gpus.map(\.cluster.name) == ["gke-us"])
            #expect(gpus[0].nodeSelector["node.kubernetes.io/instance-type"] == "g2-standard-8")
            #expect(Fleet.apportion(1_000, over: gpus) == [1_000])
        }

        // MARK: The file form

        @Test func theExampleFileReadsAsTheFleetDeclaredInSwiftInYAMLAndJSON() throws {
            let yaml = try Fleet.load(contentsOf: Self.examples.appendingPathComponent("fleet.yaml").path)
            let json = try Fleet.load(contentsOf: Self.examples.appendingPathComponent("fleet.json").path)
            #expect(yaml == Self.example)
            #expect(json == Self.example)
        }

        @Test func encodedFleetsReadBackEqualAsYAMLAndJSON() throws {
            let yaml = try YAMLEncoder().encode(Self.example)
            #expect(try Fleet.parse(yaml) == Self.example)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let json = String(decoding: try encoder.encode(Self.example), as: UTF8.self)
            #expect(try Fleet.load(contentsOf: Self.temporaryFile("fleet.json", json)) == Self.example)
            // Requirements share the schema too.
            let requirements = FleetRequirements(
                cpu: 4, memory: "16Gi", accelerator: "nvidia-l4", machineType: "g2-standard-8", spot: true,
                regions: ["us-central1"], zones: ["us-central1-a"])
            #expect(
                try YAMLDecoder().decode(FleetRequirements.self, from: YAMLEncoder().encode(requirements))
                    == requirements)
        }

        @Test func keysLeftOutTakeTheirDefaults() throws {
            let fleet = try Fleet.parse(
                """
                clusters:
                  - name: c
                    region: r
                    capacity: 4
                    zones:
                      - name: z
                        machineTypes:
                          - {name: t, cpu: 2, memory: 8Gi}
                """)
            let cluster = try #require(fleet.clusters.first)
            #expect(cluster == Self.cluster(capacity: 4))
            #expect(cluster.weight == 1 && cluster.labels.isEmpty && cluster.tolerations.isEmpty)
            #expect(cluster.context == nil && cluster.kubeconfig == nil && cluster.namespace == nil)
            let type = cluster.zones[0].machineTypes[0]
            #expect(type.accelerators.isEmpty && !type.spot && type.onDemand)

            #expect(FleetRequirements(accelerator: "nvidia-l4").acceleratorCount == 1)
            #expect(FleetRequirements().acceleratorCount == 0)
            #expect(FleetRequirements(acceleratorCount: 2).acceleratorCount == 2)
            #expect(
                try YAMLDecoder().decode(FleetRequirements.self, from: "accelerator: nvidia-l4").acceleratorCount == 1)
        }

        @Test func anUnknownKeyIsRefusedNamingTheKeyWhereItIsAndTheFile() throws {
            let path = try Self.temporaryFile(
                "typo.yaml",
                """
                clusters:
                  - name: c
                    region: r
                    capacty: 4
                    zones: []
                """)
            let error = try #require(Self.error { try Fleet.load(contentsOf: path) })
            #expect(error.code == .invalidFile)
            #expect(error.message == "\(path): unknown key 'capacty' in clusters[0]")
            #expect(error.hint?.hasPrefix("Did you mean 'capacity'? The keys allowed there: name, context,") == true)

            let deep = try #require(
                Self.error {
                    try Fleet.parse(
                        """
                        clusters:
                          - name: c
                            region: r
                            capacity: 4
                            zones:
                              - name: z
                                machineTypes:
                                  - {name: t, cpu: 2, memory: 8Gi, gpus: 1}
                        """, source: "fleet.yaml")
                })
            #expect(deep.message == "fleet.yaml: unknown key 'gpus' in clusters[0].zones[0].machineTypes[0]")
            #expect(deep.hint?.hasPrefix("The keys allowed there: name, cpu, memory, accelerators") == true)

            let zone = try #require(
                Self.error {
                    try Fleet.parse(
                        "clusters: [{name: c, region: r, capacity: 1, zones: [{name: z, machinetypes: []}]}]",
                        source: "f.yaml")
                })
            #expect(zone.message == "f.yaml: unknown key 'machinetypes' in clusters[0].zones[0]")
            #expect(zone.hint?.hasPrefix("Did you mean 'machineTypes'?") == true)

            let top = try #require(Self.error { try Fleet.parse("cluster: []", source: "f.json") })
            #expect(top.message == "f.json: unknown key 'cluster'")
            #expect(top.hint?.hasPrefix("Did you mean 'clusters'?") == true)

            let toleration = try #require(
                Self.error {
                    try Fleet.parse(
                        #"{"clusters": [{"name": "c", "region": "r", "capacity": 1, "zones": [], "tolerations": [{"key": "k", "efect": "NoSchedule"}]}]}"#,
                        source: "f.json")
                })
            #expect(toleration.message == "f.json: unknown key 'efect' in clusters[0].tolerations[0]")
            #expect(toleration.hint?.hasPrefix("Did you mean 'effect'?") == true)

            let requirements = #expect(throws: DecodingError.self) {
                try YAMLDecoder().decode(FleetRequirements.self, from: "gpu: 1")
            }
            #expect((requirements.map(Fleet.cause(of:)) as? FleetUnknownKey)?.key == "gpu")
        }

        @Test func aMissingKeyAWrongTypeBadSyntaxAndAnEmptyFileAreNamed() throws {
            let missing = try #require(
                Self.error { try Fleet.parse("clusters:\n  - name: c\n    capacity: 1\n    zones: []\n", source: "f") })
            #expect(missing.code == .invalidFile)
            #expect(missing.message == "f: clusters[0] lacks the required key 'region'")

            let type = try #require(
                Self.error {
                    try Fleet.parse("clusters:\n  - {name: c, region: r, capacity: many, zones: []}\n", source: "f")
                })
            #expect(type.message.hasPrefix("f: clusters[0].capacity must be a whole number"))

            let syntax = try #require(Self.error { try Fleet.parse("clusters: [ {name: c", source: "f") })
            #expect(syntax.code == .invalidFile)
            #expect(syntax.message == "f is neither valid YAML nor JSON")
            #expect(syntax.underlying != nil)

            let empty = try #require(Self.error { try Fleet.parse(" \n", source: "f") })
            #expect(empty.message == "f is empty")

            let absent = try #require(Self.error { try Fleet.load(contentsOf: "/nonexistent/fleet.yaml") })
            #expect(absent.message == "cannot read the fleet file /nonexistent/fleet.yaml")
        }

        @Test func aFileThatBreaksARuleIsRefusedWithItsName() throws {
            let error = try #require(
                Self.error {
                    try Fleet.parse("clusters:\n  - {name: c, region: r, capacity: -1, zones: []}\n", source: "f.yaml")
                })
            #expect(error.code == .invalidFleet)
            #expect(error.message.hasPrefix("f.yaml: invalid fleet: cluster 'c': capacity -1 is negative"))
        }

        @Test func kubeconfigPathsAreReadFromTheFileFolder() throws {
            let path = try Self.temporaryFile(
                "fleet.yaml",
                """
                clusters:
                  - name: c
                    region: r
                    capacity: 1
                    kubeconfig: [configs/a.yaml, /etc/b.yaml, ~/c.yaml]
                    zones: [{name: z, machineTypes: [{name: t, cpu: 1, memory: 1Gi}]}]
                """)
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent().standardizedFileURL.path
            let home = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent("c.yaml").path
            #expect(
                try Fleet.load(contentsOf: path).clusters[0].kubeconfig == [
                    "\(folder)/configs/a.yaml", "/etc/b.yaml", home,
                ])
        }

        // MARK: Validation

        @Test func everyRuleBrokenIsNamedWithWhatToDo() throws {
            #expect(throws: Never.self) { try Self.example.validate() }

            func problem(_ fleet: Fleet) -> String? { Self.error { try fleet.validate() }?.message }

            #expect(problem(Fleet(clusters: [])) == "invalid fleet: the fleet has no clusters: declare at least one")
            #expect(
                problem(Fleet(clusters: [Self.cluster("a"), Self.cluster("b"), Self.cluster("a")]))
                    == "invalid fleet: clusters[0] and clusters[2] are both named 'a': give each cluster its own name")
            #expect(
                problem(Fleet(clusters: [Self.cluster(capacity: -1)]))
                    == "invalid fleet: cluster 'c': capacity -1 is negative: set how many pods Fanout may run there at once (0 keeps it out of runs)"
            )
            #expect(
                problem(Fleet(clusters: [Self.cluster(weight: 0)]))
                    == "invalid fleet: cluster 'c': weight 0 must be above 0 (default 1; higher is preferred)")
            #expect(problem(Fleet(clusters: [Self.cluster(weight: -2)]))?.contains("weight -2 must be above 0") == true)
            #expect(
                problem(Fleet(clusters: [Self.cluster(weight: .nan)]))?.contains("weight nan must be above 0") == true)

            var memory = Self.cluster()
            memory.zones[0].machineTypes[0].memory = "32GB"
            #expect(
                problem(Fleet(clusters: [memory]))
                    == "invalid fleet: cluster 'c', zone 'z', machine type 't': memory '32GB' is no Kubernetes quantity: write it as 32Gi or a number of bytes"
            )

            var empty = Self.cluster()
            empty.zones.append(FleetZone("y", machineTypes: []))
            #expect(
                problem(Fleet(clusters: [empty]))
                    == "invalid fleet: cluster 'c', zone 'y' offers no machine types: list them (name, cpu, memory)")

            var noZones = Self.cluster()
            noZones.zones = []
            #expect(
                problem(Fleet(clusters: [noZones]))
                    == "invalid fleet: cluster 'c' has no zones: list its zones and the machine types each offers")

            var spot = Self.cluster()
            spot.zones[0].machineTypes[0].spot = true
            #expect(
                problem(Fleet(clusters: [spot]))
                    == "invalid fleet: cluster 'c', zone 'z', machine type 't' is offered as spot but cluster 'c' has no spotNodeLabel: name the label of its spot nodes (cloud.google.com/gke-spot: \"true\", eks.amazonaws.com/capacityType: SPOT)"
            )
            spot.spotNodeLabel = ["a": "1", "b": "2"]
            #expect(problem(Fleet(clusters: [spot]))?.contains("spotNodeLabel must be one label") == true)

            var neither = Self.cluster()
            neither.zones[0].machineTypes[0].onDemand = false
            #expect(
                problem(Fleet(clusters: [neither]))
                    == "invalid fleet: cluster 'c', zone 'z', machine type 't' is offered neither as spot nor on demand: set spot or onDemand to true"
            )

            var sizes = Self.cluster()
            sizes.zones[0].machineTypes[0].cpu = 0
            sizes.zones[0].machineTypes[0].accelerators = ["nvidia-l4": 0]
            sizes.zones[0].machineTypes.append(sizes.zones[0].machineTypes[0])
            sizes.zones.append(sizes.zones[0])
            let all = try #require(problem(Fleet(clusters: [sizes])))
            #expect(all.contains("machine type 't': cpu 0 must be a number of cores above 0"))
            #expect(all.contains("accelerator 'nvidia-l4' has count 0: give 1 or more, or leave it out"))
            #expect(all.contains("cluster 'c', zone 'z' lists machine type 't' twice: list it once"))
            #expect(all.contains("cluster 'c' lists zone 'z' twice"))

            let code = Self.error { try Fleet(clusters: [Self.cluster(capacity: -1)]).validate() }?.code
            #expect(code == .invalidFleet)
        }

        @Test func requirementsNoMachineCouldMeetAreRefused() throws {
            func problem(_ requirements: FleetRequirements) -> FleetError? {
                Self.error { try Self.example.placements(for: requirements) }
            }
            #expect(
                problem(FleetRequirements(cpu: 0))?.message
                    == "invalid requirements: cpu 0 must be a number of cores above 0")
            #expect(problem(FleetRequirements(cpu: 0))?.code == .invalidRequirements)
            #expect(
                problem(FleetRequirements(memory: "16GB"))?.message
                    == "invalid requirements: memory '16GB' is no Kubernetes quantity: write it as 16Gi, 512Mi or a number of bytes"
            )
            #expect(problem(FleetRequirements(acceleratorCount: -1))?.message.contains("acceleratorCount -1") == true)
            #expect(
                problem(FleetRequirements(accelerator: "x", acceleratorCount: 0))?.message.contains("ask for 1 or more")
                    == true)
            #expect(problem(FleetRequirements(regions: []))?.message.contains("regions is empty") == true)
            // A fleet that breaks a rule is refused before matching.
            let broken = Fleet(clusters: [Self.cluster(weight: 0)])
            #expect(Self.error { try broken.placements(for: FleetRequirements()) }?.code == .invalidFleet)
        }

        // MARK: Placement

        @Test func anAcceleratorOnlyOneClusterOffersPlacesTheRunThereWithANodeSelector() throws {
            let placements = try Self.example.placements(for: FleetRequirements(accelerator: "nvidia-l4"))
            #expect(placements.map(\.cluster.name) == ["gke-us"])
            let placement = try #require(placements.first)
            #expect(placement.offers.map(\.zone) == ["us-central1-a"])
            #expect(placement.offers.map(\.machineType.name) == ["g2-standard-8"])
            #expect(
                placement.nodeSelector == [
                    "topology.kubernetes.io/zone": "us-central1-a", "node.kubernetes.io/instance-type": "g2-standard-8",
                ])
            #expect(placement.affinity == nil)
            #expect(placement.scheduling.tolerations == Self.example.clusters[0].tolerations)
            #expect(placement.scheduling.nodeSelector == placement.nodeSelector)
        }

        @Test func severalMatchingZonesAndTypesGiveARequiredNodeAffinityOfExactlyThePairs() throws {
            let placements = try Self.example.placements(for: FleetRequirements(cpu: 8, memory: "32Gi"))
            #expect(placements.map(\.cluster.name) == ["gke-us", "eks-eu", "on-prem"])
            let eks = placements[1]
            #expect(
                eks.offers.map { "\($0.zone)/\($0.machineType.name)" } == [
                    "eu-west-1a/m6i.2xlarge", "eu-west-1b/m6i.2xlarge", "eu-west-1b/p4d.24xlarge",
                ])
            #expect(eks.nodeSelector.isEmpty)
            // Zone a offers one type and zone b two: two terms, which Kubernetes ORs.
            let expected: JSONValue = [
                "nodeAffinity": [
                    "requiredDuringSchedulingIgnoredDuringExecution": [
                        "nodeSelectorTerms": [
                            [
                                "matchExpressions": [
                                    ["key": "topology.kubernetes.io/zone", "operator": "In", "values": ["eu-west-1a"]],
                                    [
                                        "key": "node.kubernetes.io/instance-type", "operator": "In",
                                        "values": ["m6i.2xlarge"],
                                    ],
                                ]
                            ],
                            [
                                "matchExpressions": [
                                    ["key": "topology.kubernetes.io/zone", "operator": "In", "values": ["eu-west-1b"]],
                                    [
                                        "key": "node.kubernetes.io/instance-type", "operator": "In",
                                        "values": ["m6i.2xlarge", "p4d.24xlarge"],
                                    ],
                                ]
                            ],
                        ]
                    ]
                ]
            ]
            #expect(eks.affinity == expected)
            #expect(eks.scheduling.affinity == expected)
            // The same types in two zones share one term.
            let m6i = try Self.example.placements(for: FleetRequirements(machineType: "m6i.2xlarge"))
            let terms = m6i[0].affinity?["nodeAffinity"]?["requiredDuringSchedulingIgnoredDuringExecution"]?[
                "nodeSelectorTerms"]
            #expect(
                terms == [
                    [
                        "matchExpressions": [
                            [
                                "key": "topology.kubernetes.io/zone", "operator": "In",
                                "values": ["eu-west-1a", "eu-west-1b"],
                            ],
                            ["key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["m6i.2xlarge"]],
                        ]
                    ]
                ])
            // The affinity is valid pod JSON.
            let pod = try JSONEncoder().encode(eks.affinity)
            #expect(String(decoding: pod, as: UTF8.self).contains(#""operator":"In""#))
        }

        @Test func spotRunsSelectTheClusterSpotLabelAndOnDemandRunsExcludeIt() throws {
            let spot = try Self.example.placements(for: FleetRequirements(cpu: 8, spot: true))
            #expect(spot.map(\.cluster.name) == ["gke-us", "eks-eu"])  // on-prem offers no spot
            #expect(spot[0].nodeSelector == ["cloud.google.com/gke-spot": "true"])
            #expect(spot[0].offers.map(\.machineType.name) == ["n2-standard-8", "g2-standard-8", "n2-standard-8"])
            #expect(spot[1].nodeSelector == ["eks.amazonaws.com/capacityType": "SPOT"])

            let single = try Self.example.placements(for: FleetRequirements(accelerator: "nvidia-l4", spot: true))
            #expect(
                single[0].nodeSelector == [
                    "cloud.google.com/gke-spot": "true", "topology.kubernetes.io/zone": "us-central1-a",
                    "node.kubernetes.io/instance-type": "g2-standard-8",
                ])

            // On demand: the A100s are spot only; m6i is both, so its pods keep off spot nodes.
            let onDemand = try Self.example.placements(for: FleetRequirements(machineType: "m6i.2xlarge", spot: false))
            let expressions = onDemand[0].affinity?["nodeAffinity"]?["requiredDuringSchedulingIgnoredDuringExecution"]?[
                "nodeSelectorTerms"]
            #expect(
                expressions == [
                    [
                        "matchExpressions": [
                            [
                                "key": "topology.kubernetes.io/zone", "operator": "In",
                                "values": ["eu-west-1a", "eu-west-1b"],
                            ],
                            ["key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["m6i.2xlarge"]],
                            ["key": "eks.amazonaws.com/capacityType", "operator": "NotIn", "values": ["SPOT"]],
                        ]
                    ]
                ])
            #expect(onDemand[0].nodeSelector.isEmpty)
            #expect(
                Self.error {
                    try Self.example.placements(for: FleetRequirements(accelerator: "nvidia-a100", spot: false))
                }?.code == .noMatch)

            // A type offered only on demand needs no spot expression.
            let h100 = try Self.example.placements(for: FleetRequirements(cpu: 100, spot: false))
            #expect(h100.map(\.cluster.name) == ["gke-us"])
            #expect(h100[0].affinity == nil)
            #expect(
                h100[0].nodeSelector == [
                    "topology.kubernetes.io/zone": "us-central1-a", "node.kubernetes.io/instance-type": "a3-highgpu-8g",
                ])
        }

        @Test func sizesAreMinimaAndRegionsZonesAndCountsFilter() throws {
            func names(_ requirements: FleetRequirements) throws -> [String] {
                try Self.example.placements(for: requirements).flatMap { placement in
                    placement.offers.map { "\(placement.cluster.name)/\($0.zone)/\($0.machineType.name)" }
                }
            }
            // 1Ti = 1024Gi: more than 512Gi, less than 1152Gi.
            #expect(
                try names(FleetRequirements(memory: "1Ti")) == [
                    "gke-us/us-central1-a/a3-highgpu-8g", "eks-eu/eu-west-1b/p4d.24xlarge",
                ])
            #expect(
                try names(FleetRequirements(cpu: 64.5)) == [
                    "gke-us/us-central1-a/a3-highgpu-8g", "eks-eu/eu-west-1b/p4d.24xlarge",
                ])
            // A count without a type takes any accelerator.
            #expect(
                try names(FleetRequirements(acceleratorCount: 8)) == [
                    "gke-us/us-central1-a/a3-highgpu-8g", "eks-eu/eu-west-1b/p4d.24xlarge",
                ])
            #expect(
                try names(FleetRequirements(accelerator: "nvidia-a100", acceleratorCount: 4)) == [
                    "eks-eu/eu-west-1b/p4d.24xlarge"
                ])
            #expect(
                try names(FleetRequirements(regions: ["home", "eu-west-1"], zones: ["eu-west-1b", "rack-1"])) == [
                    "eks-eu/eu-west-1b/m6i.2xlarge", "eks-eu/eu-west-1b/p4d.24xlarge", "on-prem/rack-1/r7525",
                ])
            #expect(try names(FleetRequirements(zones: ["us-central1-b"])) == ["gke-us/us-central1-b/n2-standard-8"])
        }

        @Test func aClusterWithCapacityZeroServesNoRun() throws {
            var fleet = Self.example
            fleet.clusters[2].capacity = 0
            #expect(try fleet.placements(for: FleetRequirements()).map(\.cluster.name) == ["gke-us", "eks-eu"])
            let error = try #require(Self.error { try fleet.placements(for: FleetRequirements(regions: ["home"])) })
            #expect(error.code == .noMatch)
            #expect(error.message.contains("on-prem (rack-1: r7525, 64 CPU, 512Gi, on-demand only; unmet: capacity 0)"))
        }

        @Test func aRunNoClusterServesIsRefusedNamingTheNearestOffers() throws {
            let requirements = FleetRequirements(
                accelerator: "nvidia-h100-80gb", acceleratorCount: 8, spot: true, regions: ["eu-west-1"])
            let error = try #require(Self.error { try Self.example.placements(for: requirements) })
            #expect(error.code == .noMatch)
            // The A100s miss one requirement and beat the m6i of the same cluster, which has no accelerator at all.
            #expect(
                error.message
                    == "no cluster offers nvidia-h100-80gb ×8 spot in eu-west-1; nearest: "
                    + "eks-eu (eu-west-1b: p4d.24xlarge, 96 CPU, 1152Gi, nvidia-a100 ×8, spot only; unmet: accelerator); "
                    + "gke-us (us-central1-a: a3-highgpu-8g, 208 CPU, 1872Gi, nvidia-h100-80gb ×8, on-demand only; unmet: region, spot); "
                    + "on-prem (rack-1: r7525, 64 CPU, 512Gi, on-demand only; unmet: region, accelerator, spot)")
            #expect(error.hint == "Relax the run's requirements, or declare a cluster that offers them in the fleet")
            #expect("\(error)".hasSuffix("in the fleet"))
        }

        @Test func amongOffersMissingAsManyRequirementsTheClosestComeFirst() throws {
            // 2Ti: the H100 machines have 1872Gi (8.6% short), the A100s 1152Gi, the rack 512Gi.
            var fleet = Self.example
            fleet.clusters.append(Self.cluster("small"))
            let error = try #require(Self.error { try fleet.placements(for: FleetRequirements(memory: "2Ti")) })
            #expect(
                error.message
                    == "no cluster offers 2Ti memory; nearest: "
                    + "gke-us (us-central1-a: a3-highgpu-8g, 208 CPU, 1872Gi, nvidia-h100-80gb ×8, on-demand only; unmet: memory); "
                    + "eks-eu (eu-west-1b: p4d.24xlarge, 96 CPU, 1152Gi, nvidia-a100 ×8, spot only; unmet: memory); "
                    + "on-prem (rack-1: r7525, 64 CPU, 512Gi, on-demand only; unmet: memory)")
            // Fewer unmet requirements beat a smaller shortfall.
            let fewer = try #require(
                Self.error { try fleet.placements(for: FleetRequirements(memory: "2Ti", regions: ["home"])) })
            #expect(
                fewer.message
                    == "no cluster offers 2Ti memory in home; nearest: "
                    + "on-prem (rack-1: r7525, 64 CPU, 512Gi, on-demand only; unmet: memory); "
                    + "gke-us (us-central1-a: a3-highgpu-8g, 208 CPU, 1872Gi, nvidia-h100-80gb ×8, on-demand only; unmet: region, memory); "
                    + "eks-eu (eu-west-1b: p4d.24xlarge, 96 CPU, 1152Gi, nvidia-a100 ×8, spot only; unmet: region, memory)"
            )
        }

        // MARK: Apportioning

        static func placement(_ name: String, capacity: Int, weight: Double = 1) -> FleetPlacement {
            FleetPlacement(
                cluster: Self.cluster(name, capacity: capacity, weight: weight), offers: [], nodeSelector: [:],
                affinity: nil)
        }

        @Test func shardsAreSharedByCapacityTimesWeightWithLargestRemainders() {
            let placements = [
                Self.placement("a", capacity: 200), Self.placement("b", capacity: 100, weight: 0.5),
                Self.placement("c", capacity: 32),
            ]
            // Quotas of 1,000 over 200 + 50 + 32: 709.22, 177.30, 113.48; the one left goes to the largest remainder.
            #expect(Fleet.apportion(1000, over: placements) == [709, 177, 114])
            // Capacity bounds pods at once, not shards: beyond it, shares stay proportional.
            #expect(
                Fleet.apportion(10_000, over: [Self.placement("a", capacity: 10), Self.placement("b", capacity: 30)])
                    == [2500, 7500])
            // Ties go to the earlier placement.
            let even = [Self.placement("a", capacity: 5), Self.placement("b", capacity: 5)]
            #expect(Fleet.apportion(1, over: even) == [1, 0])
            #expect(Fleet.apportion(3, over: even) == [2, 1])
            #expect(Fleet.apportion(0, over: even) == [0, 0])
            #expect(Fleet.apportion(5, over: []) == [])
            #expect(Fleet.apportion(5, over: [Self.placement("a", capacity: 0)]) == [0])
        }

        @Test(arguments: [0, 1, 2, 7, 99, 1000, 12_345])
        func sharesSumToTheShardsStayWithinOneOfTheirQuotaAndSkipZeroCapacity(shards: Int) {
            // Deterministic pseudo-random fleets, with some clusters of capacity 0.
            var state: UInt64 = 0x9E37_79B9_7F4A_7C15 &+ UInt64(shards)
            func next(_ bound: Int) -> Int {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return Int((state >> 33) % UInt64(bound))
            }
            for _ in 0..<50 {
                let placements = (0..<(1 + next(6))).map { index in
                    Self.placement(
                        "c\(index)", capacity: next(4) == 0 ? 0 : 1 + next(300), weight: Double(1 + next(8)) / 4)
                }
                let weights = placements.map { Double($0.cluster.capacity) * $0.cluster.weight }
                let total = weights.reduce(0, +)
                let shares = Fleet.apportion(shards, over: placements)
                #expect(shares == Fleet.apportion(shards, over: placements))
                #expect(shares.count == placements.count)
                #expect(shares.allSatisfy { $0 >= 0 })
                guard total > 0 else {
                    #expect(shares.allSatisfy { $0 == 0 })
                    continue
                }
                #expect(shares.reduce(0, +) == shards)
                for (share, weight) in zip(shares, weights) {
                    let quota = Double(shards) * weight / total
                    #expect(abs(Double(share) - quota) < 1)
                    if weight == 0 { #expect(share == 0) }
                }
            }
        }

        @Test func aMisspeltKeyIsMatchedToAKnownKeyOnlyWhenClose() {
            #expect(Fleet.editDistance("capacty", "capacity") == 1)
            #expect(Fleet.editDistance("", "abc") == 3)
            #expect(Fleet.editDistance("kitten", "sitting") == 3)
            #expect(Fleet.closest(to: "Weigth", among: ["weight", "region"]) == "weight")
            #expect(Fleet.closest(to: "colour", among: ["weight", "region"]) == nil)
            #expect(Fleet.closest(to: "gpus", among: ["cpu", "memory"]) == nil)  // two edits from a short key
            #expect(Fleet.closest(to: "cpus", among: ["cpu", "memory"]) == "cpu")
        }
    }
}
