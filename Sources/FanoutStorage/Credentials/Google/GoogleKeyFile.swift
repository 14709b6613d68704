import FanoutHTTP
import Foundation

/// A Google credentials file: a service-account key (`"type": "service_account"`), a gcloud user's credentials
/// (`"type": "authorized_user"`), or an external account of workload identity federation (`"external_account"`).
enum GoogleKeyFile {
    private struct Header: Decodable {
        var type: String?
    }

    /// The provider for the file at `path`.
    /// - Parameter origin: Where the path came from, for errors.
    /// - Throws: ``CredentialError`` when the file cannot be read or parsed, or is of a type not supported.
    static func provider(path: String, http: HTTPClient, origin: String) throws -> any GoogleCredentialProvider {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw CredentialError(
                code: .unreadableFile,
                message: "cannot read the Google credentials file \(path) (from \(origin)): check the path, or unset "
                    + "it to use gcloud's or the metadata server's credentials",
                underlyingError: error)
        }
        let type = (try? JSONDecoder().decode(Header.self, from: data))?.type
        do {
            switch type {
            case "service_account":
                return ServiceAccountCredentialProvider(
                    key: try JSONDecoder().decode(ServiceAccountKey.self, from: data), http: http)
            case "authorized_user":
                return AuthorizedUserCredentialProvider(
                    user: try JSONDecoder().decode(AuthorizedUserCredentialProvider.User.self, from: data), http: http)
            case "external_account":
                return ExternalAccountCredentialProvider(
                    configuration: try JSONDecoder().decode(
                        ExternalAccountCredentialProvider.Configuration.self, from: data), http: http)
            default:
                throw CredentialError(
                    code: .unsupportedConfiguration,
                    message: "the Google credentials file \(path) (from \(origin)) is of type '\(type ?? "none")'; "
                        + "Fanout reads service_account keys, authorized_user files (gcloud auth "
                        + "application-default login) and external_account files (workload identity federation)")
            }
        } catch let error as CredentialError {
            throw error
        } catch {
            throw CredentialError(
                code: .invalidConfigFile,
                message: "the Google credentials file \(path) (from \(origin)) lacks fields its type needs: "
                    + "download the key again", underlyingError: error)
        }
    }
}
