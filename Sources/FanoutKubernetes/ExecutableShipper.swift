import Crypto
import FanoutStorage
import Foundation
import Synchronization

/// Puts the executable in the state store once, named by its SHA-256, and presigns a download URL for pods.
struct ExecutableShipper: Sendable {
    let store: any ObjectStore
    let root: String
    let executable: String

    struct Shipped: Sendable {
        let key: String
        let url: URL
        let sha256: String
        let bytes: Int64
        let uploaded: Bool

        /// Whether the URL was signed with temporary credentials (SSO, an assumed role, a web identity): it stops
        /// working when their session ends, whatever its own lifetime.
        var signedWithSessionToken: Bool {
            URLComponents(url: url, resolvingAgainstBaseURL: false)?.queryItems?
                .contains { $0.name == "X-Amz-Security-Token" } ?? false
        }
    }

    /// Digests of executables already hashed by this process, by path, size and modification time.
    private static let digests = Mutex<[String: String]>([:])

    func ship(lifetime: Duration) async throws -> Shipped {
        let url = URL(fileURLWithPath: executable)
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: executable)
        } catch {
            throw KubernetesError(
                code: .invalidConfiguration, message: "cannot read the executable to ship, \(executable)",
                underlying: error)
        }
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        let cacheKey = "\(executable)|\(size)|\(modified)"
        let digest: String
        if let known = Self.digests.withLock({ $0[cacheKey] }) {
            digest = known
        } else {
            digest = try Self.sha256(of: url)
            Self.digests.withLock { $0[cacheKey] = digest }
        }
        let key = "\(root)v1/bin/\(digest)"
        var uploaded = false
        let existing = try? await store.head(key: key)
        if existing?.size != size {
            try await store.put(key: key, file: url, options: PutOptions(contentType: "application/octet-stream"))
            uploaded = true
        }
        let presigned = try await store.presignedURL(key: key, method: .get, expires: lifetime)
        return Shipped(key: key, url: presigned, sha256: digest, bytes: size, uploaded: uploaded)
    }

    static func sha256(of url: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
