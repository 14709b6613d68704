public import Foundation
import FanoutHTTP

extension GCSClient {
    /// Objects.get (metadata): the object's size, generation (as its ETag) and update time.
    public func objectInfo(bucket: String, key: String) async throws -> ObjectInfo {
        let response = try await send(.get, url: url(objectsPath(bucket: bucket, key: key)), bucket: bucket, key: key)
        return try GCSObjectResource.decode(response.body, bucket: bucket, key: key).info
    }

    /// Objects.get (media), collected in memory; with `ifGeneration`, only while the object is that generation
    /// (else a ``ObjectStoreError/Code/preconditionFailed`` error).
    public func getObject(
        bucket: String, key: String, range: ClosedRange<Int64>? = nil, ifGeneration: String? = nil
    ) async throws -> Data {
        let response = try await send(
            .get, url: mediaURL(bucket: bucket, key: key, generation: ifGeneration), headers: Self.rangeHeaders(range),
            bucket: bucket, key: key, maxBodyBytes: Int.max)
        try Self.check(response.headers, generation: ifGeneration, bucket: bucket, key: key)
        return response.body
    }

    /// Objects.get (media), streamed as it arrives; `ifGeneration` as for
    /// ``getObject(bucket:key:range:ifGeneration:)``.
    /// A body that stalls or breaks off is asked for again from the first byte not yet delivered, of the same
    /// generation, following the HTTP client's retry policy.
    public func streamObject(
        bucket: String, key: String, range: ClosedRange<Int64>? = nil, ifGeneration: String? = nil
    ) async throws -> ObjectByteStream {
        let response = try await execute(
            .get, url: mediaURL(bucket: bucket, key: key, generation: ifGeneration), headers: Self.rangeHeaders(range))
        guard response.isSuccess else {
            let body = (try? await response.body.collect(upTo: 1 << 20)) ?? Data()
            throw GCSErrorResponse.error(status: response.status, body: body, bucket: bucket, key: key)
        }
        do {
            try Self.check(response.headers, generation: ifGeneration, bucket: bucket, key: key)
        } catch {
            response.body.discard()
            throw error
        }
        let generation = ifGeneration ?? response.headers["X-Goog-Generation"]
        let body = ResumableObjectBody(
            http: http, logger: logger, bucket: bucket, key: key, scheme: Self.scheme, resumable: generation != nil,
            first: response.body
        ) { [self] delivered in
            try await resumeRead(bucket: bucket, key: key, range: range, generation: generation, delivered: delivered)
        }
        return ObjectByteStream(length: Int64(response.headers["Content-Length"] ?? ""), body)
    }

    /// The rest of a read that broke off after `delivered` bytes, of the same generation.
    private func resumeRead(
        bucket: String, key: String, range: ClosedRange<Int64>?, generation: String?, delivered: Int64
    ) async throws -> HTTPResponseBody {
        let start = (range?.lowerBound ?? 0) + delivered
        let headers: HTTPHeaders = ["Range": "bytes=\(start)-\(range.map { String($0.upperBound) } ?? "")"]
        let response = try await execute(
            .get, url: mediaURL(bucket: bucket, key: key, generation: generation), headers: headers)
        guard response.status == 206 else {
            let data = (try? await response.body.collect(upTo: 1 << 20)) ?? Data()
            var error = GCSErrorResponse.error(status: response.status, body: data, bucket: bucket, key: key)
            if response.status == 412 {
                error.message = "the object changed while it was read; run again to read the new version"
            } else if response.isSuccess {
                error.message = "the server ignored the Range of a resumed read (status \(response.status))"
            }
            throw error
        }
        return response.body
    }

    /// Objects.delete; a missing object is not an error.
    public func deleteObject(bucket: String, key: String) async throws {
        _ = try await send(
            .delete, url: url(objectsPath(bucket: bucket, key: key)), bucket: bucket, key: key,
            accepted: Set(200..<300).union([404]))
    }

    /// Deletes each key, eight requests at a time (the JSON API's batch endpoint is not used).
    public func deleteObjects(bucket: String, keys: [String]) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var pending = keys.makeIterator()
            for _ in 0..<8 {
                guard let key = pending.next() else { break }
                group.addTask { try await self.deleteObject(bucket: bucket, key: key) }
            }
            while try await group.next() != nil {
                if let key = pending.next() { group.addTask { try await self.deleteObject(bucket: bucket, key: key) } }
            }
        }
    }

    // MARK: Helpers

    private func mediaURL(bucket: String, key: String, generation: String?) -> URL {
        url(objectsPath(bucket: bucket, key: key), query: [("alt", "media"), ("ifGenerationMatch", generation)])
    }

    private static func rangeHeaders(_ range: ClosedRange<Int64>?) -> HTTPHeaders {
        range.map { ["Range": "bytes=\($0.lowerBound)-\($0.upperBound)"] } ?? [:]
    }

    /// Cloud Storage refuses a read whose `ifGenerationMatch` fails; this also refuses an answer that names another
    /// generation, from a server that ignored the precondition.
    private static func check(_ headers: HTTPHeaders, generation: String?, bucket: String, key: String) throws {
        guard let generation, let served = headers["X-Goog-Generation"], served != generation else { return }
        var error = ObjectStoreError(
            code: .preconditionFailed,
            message: "the object is generation \(served), not \(generation) as required", status: 412,
            bucket: bucket, key: key)
        error.scheme = scheme
        throw error
    }
}
