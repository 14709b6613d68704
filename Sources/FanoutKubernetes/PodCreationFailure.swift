import Foundation

/// Why the cluster refuses to create a Job's pods, as the Job controller's `FailedCreate` event says: Pod Security
/// admission, a ResourceQuota, an admission webhook. No pod exists, so only the Job's events tell.
public struct PodCreationFailure: Sendable, Hashable, CustomStringConvertible {
    /// What refuses the pods, as far as the message tells.
    public enum Cause: Sendable, Hashable {
        /// The namespace enforces a Pod Security level the pods violate (`restricted:latest`). Waiting does not
        /// help: the pods or the namespace's `pod-security.kubernetes.io/enforce` label must change.
        case podSecurity(level: String)
        /// A ResourceQuota: the namespace's is used up, or it requires requests or limits the pods lack.
        case quota
        /// Another admission plugin or webhook; the message says what.
        case other
    }

    public var job: String
    /// The API server's answer to the pod's creation: `pods "NAME-0-" is forbidden: violates PodSecurity ...`.
    public var message: String

    /// - Parameter eventMessage: the event's message, with or without the controller's `Error creating: `.
    public init(job: String, eventMessage: String) {
        self.job = job
        let prefix = "Error creating: "
        message = eventMessage.hasPrefix(prefix) ? String(eventMessage.dropFirst(prefix.count)) : eventMessage
    }

    public var cause: Cause {
        if let level = quoted(after: "violates PodSecurity \"") { return .podSecurity(level: level) }
        if message.contains("exceeded quota") || message.contains("failed quota") { return .quota }
        return .other
    }

    /// The refusal without the name of the pod it refused, which changes from pod to pod: one cause, one report.
    var reason: String {
        guard let range = message.range(of: " is forbidden: ") else { return message }
        return String(message[range.upperBound...])
    }

    /// Whether no amount of waiting lets the pods be created.
    var isDefinitive: Bool {
        if case .podSecurity = cause { return true }
        return false
    }

    public var description: String { "the cluster refuses to create the pods of Job \(job): \(message)" }

    /// What a person can do about it, with the commands to run in `namespace`.
    public func advice(namespace: String) -> String {
        switch cause {
        case .podSecurity(let level):
            return "The namespace \(namespace) enforces Pod Security \"\(level)\" (kubectl get namespace \(namespace) "
                + "--show-labels). Fanout's pods pass even \"restricted\" when they run as a non-root user: leave "
                + "--run-as-user at its default (\(KubernetesBackend.Options.nonRootUser)) or give another non-zero "
                + "id. An image that must run as root needs a namespace whose pod-security.kubernetes.io/enforce "
                + "label is baseline or privileged."
        case .quota:
            return "kubectl -n \(namespace) describe resourcequota shows what the namespace allows: a quota that "
                + "requires limits needs --memory (and resources.cpuLimit for CPU); one that is used up admits the "
                + "pods as others end."
        case .other:
            return "kubectl -n \(namespace) describe job \(job) lists why the cluster refuses the pods."
        }
    }

    /// The text between `opening` and the next double quote.
    private func quoted(after opening: String) -> String? {
        guard let start = message.range(of: opening)?.upperBound,
            let end = message[start...].firstIndex(of: "\"")
        else { return nil }
        return String(message[start..<end])
    }
}
