import FanoutHTTP
import Foundation

extension GCSClient {
    /// Objects.list, a page per request: keys in lexicographic order, with `prefix`, `delimiter` (common prefixes)
    /// and ``ListOptions/startAfter`` (sent as `startOffset`, whose own key is left out).
    public func listObjects(bucket: String, prefix: String, options: ListOptions = ListOptions()) -> ObjectListing {
        ObjectListing { [self] token in
            let query: [(String, String?)] = [
                ("prefix", prefix.isEmpty ? nil : prefix),
                ("delimiter", options.delimiter),
                ("maxResults", String(options.pageSize)),
                ("startOffset", options.startAfter),
                ("pageToken", token),
            ]
            let response = try await send(
                .get, url: url(objectsPath(bucket: bucket), query: query), bucket: bucket)
            let list: GCSObjectList
            do {
                list = try JSONDecoder().decode(GCSObjectList.self, from: response.body)
            } catch {
                var failure = ObjectStoreError(
                    code: .corrupt, message: "Cloud Storage answered a listing with something other than one",
                    bucket: bucket, underlying: error)
                failure.scheme = Self.scheme
                throw failure
            }
            let objects = (list.items ?? []).filter { $0.name != options.startAfter }.map(\.info)
            let token = list.nextPageToken.flatMap { $0.isEmpty ? nil : $0 }
            return ObjectListing.Page(objects: objects, commonPrefixes: list.prefixes ?? [], continuation: token)
        }
    }
}
