/// A container's `securityContext`: what Fanout sets so that its pods pass Pod Security's `restricted` level.
public struct SecurityContext: Codable, Sendable, Hashable {
    /// Whether a process may gain more privileges than its parent (set-user-ID files); `restricted` requires `false`.
    public var allowPrivilegeEscalation: Bool?
    public var capabilities: Capabilities?
    public var runAsUser: Int?
    public var runAsGroup: Int?
    public var runAsNonRoot: Bool?
    public var seccompProfile: SeccompProfile?

    public init(
        allowPrivilegeEscalation: Bool? = nil, capabilities: Capabilities? = nil, runAsUser: Int? = nil,
        runAsGroup: Int? = nil, runAsNonRoot: Bool? = nil, seccompProfile: SeccompProfile? = nil
    ) {
        self.allowPrivilegeEscalation = allowPrivilegeEscalation
        self.capabilities = capabilities
        self.runAsUser = runAsUser
        self.runAsGroup = runAsGroup
        self.runAsNonRoot = runAsNonRoot
        self.seccompProfile = seccompProfile
    }

    /// Linux capabilities removed from, and added to, the runtime's default set.
    public struct Capabilities: Codable, Sendable, Hashable {
        public var add: [String]?
        /// `ALL` removes every capability; `restricted` requires it.
        public var drop: [String]?

        public init(add: [String]? = nil, drop: [String]? = nil) {
            self.add = add
            self.drop = drop
        }
    }

    /// The seccomp filter of a pod or container.
    public struct SeccompProfile: Codable, Sendable, Hashable {
        /// `RuntimeDefault`, `Localhost` or `Unconfined`.
        public var type: String
        /// The profile's path on the node, for `Localhost`.
        public var localhostProfile: String?

        public init(type: String, localhostProfile: String? = nil) {
            self.type = type
            self.localhostProfile = localhostProfile
        }

        /// The container runtime's default filter.
        public static let runtimeDefault = SeccompProfile(type: "RuntimeDefault")
    }
}
