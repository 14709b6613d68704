/// The settings of one profile, gathered from the credentials file and the config file.
struct AWSProfile: Sendable, Hashable {
    var name: String
    var credentialsFilePath: String
    var configFilePath: String
    /// The `[name]` section of the credentials file.
    var credentialsSection: [String: String]?
    /// The `[profile name]` section (or `[default]`) of the config file.
    var configSection: [String: String]?
    /// The `[services x]` section the profile names with `services = x`.
    var servicesSection: [String: String]?

    var exists: Bool { credentialsSection != nil || configSection != nil }

    /// A setting, from the credentials file first, then the config file; blank values count as unset.
    subscript(key: String) -> String? {
        for section in [credentialsSection, configSection] {
            if let value = section?[key], !value.isEmpty { return value }
        }
        return nil
    }
}
