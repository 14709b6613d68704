import Foundation

/// Why a pod's container cannot start, as the kubelet says in the container's waiting state: a Secret, ConfigMap
/// or key the container names does not exist (`CreateContainerConfigError`), its image cannot be pulled
/// (`ErrImagePull`, `ImagePullBackOff`) or is no valid name (`InvalidImageName`). Waiting does not cure these:
/// someone must create the Secret or correct the image.
public struct PodStartFailure: Sendable, Hashable, CustomStringConvertible {
    /// What is missing or wrong, as far as the kubelet's message tells.
    public enum Cause: Sendable, Hashable {
        /// `secret "NAME" not found`.
        case missingSecret(name: String)
        /// `couldn't find key KEY in Secret NAMESPACE/NAME`.
        case missingSecretKey(secret: String, key: String)
        /// `configmap "NAME" not found`.
        case missingConfigMap(name: String)
        /// `couldn't find key KEY in ConfigMap NAMESPACE/NAME`.
        case missingConfigMapKey(configMap: String, key: String)
        /// The image cannot be pulled: a wrong name or tag, a private registry without a pull Secret, a registry
        /// the nodes cannot reach.
        case unpullableImage(String)
        /// The image reference does not parse.
        case invalidImageName(String)
        /// Another reason the container cannot be created; the message says what.
        case other
    }

    public var pod: String
    public var shard: Int?
    public var container: String
    /// The kubelet's reason: `CreateContainerConfigError`, `ErrImagePull`, `InvalidImageName`...
    public var reason: String
    /// The kubelet's message: `secret "s3-credentials" not found`.
    public var message: String
    /// The container's image, when the pod's status names it.
    public var image: String?

    public init(
        pod: String, shard: Int? = nil, container: String, reason: String, message: String, image: String? = nil
    ) {
        self.pod = pod
        self.shard = shard
        self.container = container
        self.reason = reason
        self.message = message
        self.image = image
    }

    /// Waiting reasons no amount of waiting cures: reported as soon as they are seen.
    static let immediateReasons: Set<String> = [
        "CreateContainerConfigError", "CreateContainerError", "InvalidImageName", "ErrImageNeverPull",
        "ImageInspectError", "SignatureValidationFailed",
    ]
    /// Waiting reasons of image pulls, which may be transient (a registry that throttles or is briefly down):
    /// reported after a few tries, or at once when the registry says the image is not there or not allowed.
    static let pullReasons: Set<String> = ["ErrImagePull", "ImagePullBackOff", "RegistryUnavailable"]
    /// Parts of a pull error that no retry changes.
    static let definitivePullErrors = [
        "not found", "manifest unknown", "pull access denied", "unauthorized", "denied", "forbidden",
    ]

    public var cause: Cause {
        if let name = quoted(after: "secret \"", in: message), message.hasSuffix("\" not found") {
            return .missingSecret(name: name)
        }
        if let name = quoted(after: "configmap \"", in: message), message.hasSuffix("\" not found") {
            return .missingConfigMap(name: name)
        }
        if let (kind, name, key) = missingKey() {
            return kind == "Secret"
                ? .missingSecretKey(secret: name, key: key) : .missingConfigMapKey(configMap: name, key: key)
        }
        if reason == "InvalidImageName" { return .invalidImageName(image ?? quoted(after: "\"", in: message) ?? "") }
        if Self.pullReasons.contains(reason) || reason == "ErrImageNeverPull" {
            return .unpullableImage(image ?? quoted(after: "image \"", in: message) ?? "")
        }
        return .other
    }

    /// Whether a pull error says the image is not there or not allowed, which no retry changes.
    var isDefinitivePullError: Bool {
        let lowered = message.lowercased()
        return Self.definitivePullErrors.contains { lowered.contains($0) }
    }

    public var description: String {
        "pod \(pod) cannot start its container \(container): \(reason)" + (message.isEmpty ? "" : ": \(message)")
    }

    /// What a person can do about it, with the commands to run in `namespace`.
    public func advice(namespace: String) -> String {
        switch cause {
        case .missingSecret(let name):
            return "Create the Secret: kubectl -n \(namespace) create secret generic \(name) --from-literal=KEY=VALUE "
                + "(for S3: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or name an existing one in --secret-env."
        case .missingSecretKey(let secret, let key):
            return "Add the key: kubectl -n \(namespace) patch secret \(secret) --type merge "
                + "-p '{\"stringData\":{\"\(key)\":\"VALUE\"}}', or name a key the Secret has."
        case .missingConfigMap(let name):
            return "Create the ConfigMap: kubectl -n \(namespace) create configmap \(name) --from-literal=KEY=VALUE."
        case .missingConfigMapKey(let configMap, let key):
            return "Add the key \(key) to the ConfigMap: kubectl -n \(namespace) edit configmap \(configMap)."
        case .unpullableImage(let image):
            return "Check the image name and tag \(image) (--image): it must exist in its registry for the nodes' "
                + "architecture, the nodes must reach the registry, and a private registry needs a pull Secret "
                + "(--image-pull-secret NAME). kubectl -n \(namespace) describe pod \(pod) shows the pull error."
        case .invalidImageName(let image):
            return "Correct the image name \(image) (--image): a reference such as registry.example.com/team/app:1.0, "
                + "in lower case."
        case .other:
            return "kubectl -n \(namespace) describe pod \(pod) shows why its container cannot be created."
        }
    }

    /// `couldn't find key KEY in Secret NAMESPACE/NAME` (or ConfigMap): the kind, the name and the key.
    private func missingKey() -> (kind: String, name: String, key: String)? {
        let prefix = "couldn't find key "
        guard message.hasPrefix(prefix) else { return nil }
        let words = message.dropFirst(prefix.count).split(separator: " ")
        guard words.count == 4, words[1] == "in", words[2] == "Secret" || words[2] == "ConfigMap" else { return nil }
        let name = words[3].split(separator: "/").last.map(String.init) ?? String(words[3])
        return (String(words[2]), name, String(words[0]))
    }

    /// The text between `opening` and the next double quote.
    private func quoted(after opening: String, in text: String) -> String? {
        guard let start = text.range(of: opening)?.upperBound,
            let end = text[start...].firstIndex(of: "\"")
        else { return nil }
        return String(text[start..<end])
    }
}
