public import FanoutSigV4
public import FanoutHTTP
public import Foundation
public import Logging

/// Credentials of an IAM Identity Center (SSO) profile, from the token `aws sso login` caches.
///
/// The profile names `sso_account_id` and `sso_role_name`, with `sso_session` (whose `[sso-session NAME]` section
/// has `sso_start_url` and `sso_region`) or, in the legacy form, `sso_start_url` and `sso_region` itself. The
/// token is read from `~/.aws/sso/cache/SHA1.json` (the SHA-1 of the session name, or of the start URL) and traded
/// for role credentials with the portal's `GetRoleCredentials` (`AWS_ENDPOINT_URL_SSO`, else
/// `https://portal.sso.REGION.amazonaws.com`).
///
/// As in the AWS CLI, an `sso_session` token that expires within 15 minutes is refreshed with SSO-OIDC
/// `CreateToken` (``SSOTokenRefresh``) when the cache holds a refresh token and an unexpired client registration,
/// and the cache file is rewritten with the new token. An expired token that cannot be refreshed (the legacy form
/// never can) is an error that says to run `aws sso login`. Returns `nil` for profiles without SSO.
public struct SSOCredentialProvider: AWSCredentialProvider {
    public let environment: AWSEnvironment
    let httpClient: HTTPClient
    let timeout: Duration
    let now: @Sendable () -> Date
    let logger: Logger

    /// How long before it expires a cached token is refreshed: 15 minutes, as in the AWS CLI.
    static let refreshWindow: TimeInterval = 15 * 60

    public init(
        environment: AWSEnvironment = AWSEnvironment(), httpClient: HTTPClient = .shared,
        timeout: Duration = .seconds(30), now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger = CredentialProviderChain.noLogger
    ) {
        self.environment = environment
        self.httpClient = httpClient
        self.timeout = timeout
        self.now = now
        self.logger = logger
    }

    static func usesSSO(_ profile: AWSProfile) -> Bool {
        profile.configSection?["sso_session"] != nil || profile.configSection?["sso_start_url"] != nil
    }

    public func credentials() async throws -> AWSCredentials? {
        let profile = try environment.loadProfile()
        guard Self.usesSSO(profile), let section = profile.configSection else { return nil }
        let place = "profile '\(profile.name)' in \(profile.configFilePath)"
        let login = "run `aws sso login --profile \(profile.name)`"
        let value = { (key: String) -> String? in section[key].flatMap { $0.isEmpty ? nil : $0 } }
        let cacheKey: String
        let region: String?
        let session = value("sso_session")
        if let session {
            let sessionSection = try AWSConfigFile.load(path: profile.configFilePath)?["sso-session \(session)"]
            guard let sessionSection else {
                throw CredentialError(
                    code: .invalidConfigFile,
                    message: "\(place) names sso_session \(session), but there is no [sso-session \(session)] section")
            }
            cacheKey = session
            region = sessionSection["sso_region"]
        } else {
            cacheKey = value("sso_start_url") ?? ""
            region = value("sso_region")
        }
        guard let accountID = value("sso_account_id"), let roleName = value("sso_role_name"), let region else {
            throw CredentialError(
                code: .incompleteCredentials,
                message: "\(place) needs sso_account_id, sso_role_name and sso_region: run `aws configure sso`")
        }
        let token = try await accessToken(
            cache: SSOTokenCache(key: cacheKey, environment: environment), region: region,
            refreshable: session != nil, login: login)
        return try await roleCredentials(
            token: token, accountID: accountID, roleName: roleName, region: region, login: login)
    }

    /// The cached access token, refreshed first when it is about to expire and can be.
    private func accessToken(cache: SSOTokenCache, region: String, refreshable: Bool, login: String) async throws
        -> String
    {
        guard let cached = cache.load() else {
            throw CredentialError(code: .unreadableFile, message: "no cached SSO token in \(cache.path): \(login)")
        }
        let now = now()
        let expiry = cached.expiration
        if let expiry, expiry.timeIntervalSince(now) > Self.refreshWindow { return cached.accessToken }
        var failure: (any Error)?
        if refreshable, let grant = cached.refreshGrant(now: now) {
            do {
                guard let endpoint = try environment.endpointURL(for: "sso-oidc")
                    ?? URL(string: "https://oidc.\(region).amazonaws.com")
                else {
                    throw CredentialError(code: .invalidEndpoint, message: "sso_region '\(region)' is not a region")
                }
                let refreshed = try await SSOTokenRefresh(
                    endpoint: endpoint, httpClient: httpClient, timeout: timeout, logger: logger
                ).refresh(cached, grant: grant, now: now)
                do {
                    try cache.save(refreshed)
                } catch {
                    logger.warning("cannot save the refreshed SSO token", metadata: ["error": "\(error)"])
                }
                return refreshed.accessToken
            } catch {
                logger.debug("SSO token refresh failed", metadata: ["error": "\(error)"])
                failure = error
            }
        }
        if let expiry, expiry > now { return cached.accessToken }
        let reason = failure.map { " and could not be refreshed (\($0))" } ?? ""
        throw CredentialError(
            code: .noCredentials, message: "the SSO token in \(cache.path) has expired\(reason): \(login)",
            underlyingError: failure)
    }

    /// `base` with `path` added to the end of its path.
    static func url(_ base: URL, appending path: String) -> URL? {
        guard var components = URLComponents(url: base, resolvingAgainstBaseURL: false) else { return nil }
        components.path = (components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path)
            + path
        return components.url
    }

    private func roleCredentials(token: String, accountID: String, roleName: String, region: String, login: String)
        async throws -> AWSCredentials
    {
        let base =
            try environment.endpointURL(for: "sso") ?? URL(string: "https://portal.sso.\(region).amazonaws.com")!
        let query = [
            URLQueryItem(name: "role_name", value: roleName), URLQueryItem(name: "account_id", value: accountID),
        ]
        guard let url = Self.url(base, appending: "/federation/credentials")?.appending(queryItems: query) else {
            throw CredentialError(code: .invalidEndpoint, message: "cannot build the SSO portal URL from \(base)")
        }
        let response = try await httpClient.credentialRequest(
            HTTPRequest(url: url, headers: ["x-amz-sso_bearer_token": token, "Accept": "application/json"]),
            timeout: timeout, logger: logger, failure: .stsRequestFailed,
            unreachable: "cannot reach the SSO portal at \(base.absoluteString): check the network or "
                + "AWS_ENDPOINT_URL_SSO")
        guard response.status == 200 else {
            throw CredentialError(
                code: .stsRejected,
                message: "the SSO portal refused role \(roleName) in account \(accountID) (HTTP \(response.status), "
                    + "\(response.bodyText.prefix(200))): \(login), and check the role and account")
        }
        struct Answer: Decodable {
            struct RoleCredentials: Decodable {
                let accessKeyId: String
                let secretAccessKey: String
                let sessionToken: String?
                let expiration: Double?
            }
            let roleCredentials: RoleCredentials
        }
        let answer = try response.credentialAnswer(
            Answer.self, otherwise: "the SSO portal answered without role credentials"
        ).roleCredentials
        return AWSCredentials(
            accessKeyID: answer.accessKeyId, secretAccessKey: answer.secretAccessKey, sessionToken: answer.sessionToken,
            expiration: answer.expiration.map { Date(timeIntervalSince1970: $0 / 1000) })
    }
}
