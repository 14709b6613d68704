import FanoutTestSupport
import Foundation

/// google-cloud-storage, Google's own Python client, run against the emulator: the reference listings are compared
/// with.
enum GoogleStorageOracle {
    /// One listed object, as google-cloud-storage reports it.
    struct Object: Decodable, Equatable {
        let name: String
        let size: Int64
        let generation: String
    }

    struct Listing: Decodable, Equatable {
        let objects: [Object]
        let prefixes: [String]
    }

    private static let script = """
        import json, sys
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage
        client = storage.Client(project="test", credentials=AnonymousCredentials())
        bucket, prefix, delimiter, start = sys.argv[1:5]
        blobs = client.list_blobs(bucket, prefix=prefix or None, delimiter=delimiter or None,
                                  start_offset=start or None, page_size=7)
        objects = [{"name": b.name, "size": b.size, "generation": str(b.generation)} for b in blobs
                   if b.name != start]
        print(json.dumps({"objects": objects, "prefixes": sorted(blobs.prefixes)}))
        """

    /// google-cloud-storage's listing of `bucket` (`startAfter` as its `start_offset`, its own key left out).
    static func list(bucket: String, prefix: String = "", delimiter: String? = nil, startAfter: String? = nil)
        async throws -> Listing
    {
        let output = try await BotocoreCredentialOracle.run(
            script: script, arguments: [bucket, prefix, delimiter ?? "", startAfter ?? ""],
            variables: ["STORAGE_EMULATOR_HOST": try TestEnvironment.gcsEmulator.absoluteString])
        return try JSONDecoder().decode(Listing.self, from: Data(output.utf8))
    }
}
