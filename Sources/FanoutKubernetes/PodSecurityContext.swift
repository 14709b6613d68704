/// A pod's `securityContext`: the user its containers run as and the seccomp filter they share.
public struct PodSecurityContext: Codable, Sendable, Hashable {
    /// The user id of the containers' processes; `nil`: each image's own user.
    public var runAsUser: Int?
    /// The primary group id of the containers' processes; `nil`: the image's.
    public var runAsGroup: Int?
    /// When `true`, the kubelet refuses to start a container that would run as root.
    public var runAsNonRoot: Bool?
    public var seccompProfile: SecurityContext.SeccompProfile?

    public init(
        runAsUser: Int? = nil, runAsGroup: Int? = nil, runAsNonRoot: Bool? = nil,
        seccompProfile: SecurityContext.SeccompProfile? = nil
    ) {
        self.runAsUser = runAsUser
        self.runAsGroup = runAsGroup
        self.runAsNonRoot = runAsNonRoot
        self.seccompProfile = seccompProfile
    }
}
