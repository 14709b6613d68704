public import Foundation

extension AWSEnvironment {
    /// The region to use, as the AWS CLI picks it.
    ///
    /// In order: `explicit`, `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`, then
    /// ``AWSRegion/usEast1``. The files are read only when no variable decides.
    ///
    /// - Parameter explicit: A region given on the command line or in code; blank counts as unset.
    /// - Throws: ``CredentialError`` when the shared files must be read and cannot be, or when a profile that
    ///   was chosen explicitly does not exist.
    public func region(explicit: String? = nil) throws -> AWSRegion {
        try configuredRegion(explicit: explicit) ?? .usEast1
    }

    /// The region that is configured somewhere, or `nil` when none is.
    func configuredRegion(explicit: String? = nil) throws -> AWSRegion? {
        if let explicit = explicit?.trimmingCharacters(in: .whitespaces), !explicit.isEmpty {
            return AWSRegion(explicit)
        }
        if let name = self["AWS_REGION"] ?? self["AWS_DEFAULT_REGION"] { return AWSRegion(name) }
        return try loadProfile()["region"].map { AWSRegion($0) }
    }

    /// The endpoint URL configured for a service, or `nil` for AWS's own endpoint.
    ///
    /// In order: `explicit`; `AWS_ENDPOINT_URL_<SERVICE>` (`AWS_ENDPOINT_URL_S3`); `AWS_ENDPOINT_URL`; in the
    /// profile, `endpoint_url` nested under the service in its `[services ...]` section, then the profile's own
    /// `endpoint_url`. `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` (or `ignore_configured_endpoint_urls = true` in
    /// the profile) leaves only `explicit`.
    ///
    /// - Parameters:
    ///   - service: The service identifier, lowercase: `s3`, `sts`.
    ///   - explicit: An endpoint given on the command line or in code; blank counts as unset.
    /// - Throws: ``CredentialError`` with code ``CredentialError/Code/invalidEndpoint`` when the URL found is not
    ///   an absolute http or https URL, or when the shared files cannot be read.
    public func endpointURL(for service: String = "s3", explicit: String? = nil) throws -> URL? {
        if let explicit = explicit?.trimmingCharacters(in: .whitespaces), !explicit.isEmpty {
            return try Self.endpoint(explicit, source: "the endpoint given")
        }
        if Self.isTrue(self["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"]) { return nil }
        let serviceVariable = "AWS_ENDPOINT_URL_" + service.uppercased().replacingOccurrences(of: "-", with: "_")
        for name in [serviceVariable, "AWS_ENDPOINT_URL"] {
            if let value = self[name] { return try Self.endpoint(value, source: name) }
        }
        let profile = try loadProfile()
        if Self.isTrue(profile["ignore_configured_endpoint_urls"]) { return nil }
        let serviceKey = service.lowercased().replacingOccurrences(of: "-", with: "_") + ".endpoint_url"
        if let value = profile.servicesSection?[serviceKey], !value.isEmpty {
            return try Self.endpoint(value, source: "\(serviceKey) in \(profile.configFilePath)")
        }
        if let value = profile["endpoint_url"] {
            return try Self.endpoint(value, source: "endpoint_url of profile '\(profile.name)'")
        }
        return nil
    }

    /// The STS endpoint: a configured one, else the regional endpoint of the configured region, else the global
    /// `https://sts.amazonaws.com`.
    func stsEndpoint() throws -> URL {
        if let configured = try endpointURL(for: "sts") { return configured }
        guard let region = try configuredRegion() else { return URL(string: "https://sts.amazonaws.com")! }
        guard let url = URL(string: "https://sts.\(region.rawValue).\(region.dnsSuffix)"), url.host != nil else {
            throw CredentialError(
                code: .invalidEndpoint,
                message: "the region '\(region)' does not make a valid STS host name: check AWS_REGION or the "
                    + "profile's region")
        }
        return url
    }

    private static func endpoint(_ text: String, source: String) throws -> URL {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else {
            throw CredentialError(
                code: .invalidEndpoint,
                message: "\(source) is '\(text)', which is not an http(s) URL: use a URL such as "
                    + "https://s3.example.com or http://127.0.0.1:9000")
        }
        return url
    }

    private static func isTrue(_ value: String?) -> Bool { value?.lowercased() == "true" }
}
