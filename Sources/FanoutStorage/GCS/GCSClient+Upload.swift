public import Foundation
import FanoutHTTP

extension GCSClient {
    /// Objects.insert as one multipart request (metadata and bytes). ``PutOptions/ifNoneMatch`` is
    /// `ifGenerationMatch=0`, ``PutOptions/ifMatch`` `ifGenerationMatch=GENERATION`.
    @discardableResult
    public func putObject(bucket: String, key: String, data: Data, options: PutOptions = PutOptions()) async throws
        -> PutResult
    {
        let boundary = "fanout-" + UUID().uuidString
        var body = Data()
        body.append(Data("--\(boundary)\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n".utf8))
        body.append(try Self.metadata(key: key, options: options))
        body.append(Data("\r\n--\(boundary)\r\nContent-Type: \(options.contentType)\r\n\r\n".utf8))
        body.append(data)
        body.append(Data("\r\n--\(boundary)--\r\n".utf8))
        let url = url(
            objectsPath(bucket: bucket, upload: true),
            query: [("uploadType", "multipart"), ("ifGenerationMatch", Self.precondition(options))])
        return try await conditionally(options, bucket: bucket, key: key) {
            let response = try await send(
                .post, url: url, headers: ["Content-Type": "multipart/related; boundary=\(boundary)"], body: body,
                bucket: bucket, key: key)
            return PutResult(etag: try GCSObjectResource.decode(response.body, bucket: bucket, key: key).info.etag)
        }
    }

    /// Uploads a local file: one multipart request up to ``GCSConfiguration/resumableThreshold``, a resumable
    /// upload in ``GCSConfiguration/chunkSize`` pieces above it.
    @discardableResult
    public func putObject(bucket: String, key: String, file: URL, options: PutOptions = PutOptions()) async throws
        -> PutResult
    {
        let size: Int64
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
            size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        } catch {
            throw ObjectStoreError(code: .io, message: "cannot read \(file.path)", underlying: error)
        }
        if size <= Int64(configuration.resumableThreshold) {
            let data = try await Self.read(file, offset: 0, count: Int(size))
            return try await putObject(bucket: bucket, key: key, data: data, options: options)
        }
        return try await conditionally(options, bucket: bucket, key: key) {
            try await uploadResumable(bucket: bucket, key: key, file: file, size: size, options: options)
        }
    }

    /// A resumable upload: a session started with the metadata, then the file in chunks, each a `PUT` with its
    /// `Content-Range`, answered `308` until the last.
    private func uploadResumable(
        bucket: String, key: String, file: URL, size: Int64, options: PutOptions
    ) async throws -> PutResult {
        let start = url(
            objectsPath(bucket: bucket, upload: true),
            query: [("uploadType", "resumable"), ("ifGenerationMatch", Self.precondition(options))])
        let session = try await send(
            .post, url: start,
            headers: [
                "Content-Type": "application/json; charset=UTF-8", "X-Upload-Content-Type": options.contentType,
                "X-Upload-Content-Length": String(size),
            ],
            body: try Self.metadata(key: key, options: options), bucket: bucket, key: key)
        guard let location = session.headers["Location"], let sessionURL = URL(string: location) else {
            var error = ObjectStoreError(
                code: .server, message: "Cloud Storage started a resumable upload without a session URL",
                bucket: bucket, key: key)
            error.scheme = Self.scheme
            throw error
        }
        let chunkSize = max(256 << 10, configuration.chunkSize / (256 << 10) * (256 << 10))
        var offset: Int64 = 0
        while true {
            let count = Int(min(Int64(chunkSize), size - offset))
            let chunk = try await Self.read(file, offset: offset, count: count)
            let last = offset + Int64(count) == size
            let range = "bytes \(offset)-\(offset + Int64(count) - 1)/\(last ? String(size) : "*")"
            let response = try await send(
                .put, url: sessionURL, headers: ["Content-Range": range], body: chunk, bucket: bucket, key: key,
                accepted: Set(200..<300).union([308]))
            offset += Int64(count)
            if last {
                return PutResult(etag: try GCSObjectResource.decode(response.body, bucket: bucket, key: key).info.etag)
            }
        }
    }

    /// Runs a conditional write; a failed `ifMatch` on an object that is gone is ``ObjectStoreError/Code/notFound``,
    /// as the ``ObjectStore`` seam promises (Cloud Storage answers 412 either way).
    private func conditionally(
        _ options: PutOptions, bucket: String, key: String, _ write: () async throws -> PutResult
    ) async throws -> PutResult {
        do {
            return try await write()
        } catch let error as ObjectStoreError where error.code == .preconditionFailed && options.ifMatch != nil {
            do {
                _ = try await objectInfo(bucket: bucket, key: key)
            } catch let missing as ObjectStoreError where missing.code == .notFound {
                throw missing
            }
            throw error
        }
    }

    /// The object's metadata for an upload: its name and content type.
    private static func metadata(key: String, options: PutOptions) throws -> Data {
        try JSONSerialization.data(
            withJSONObject: ["name": key, "contentType": options.contentType], options: [.sortedKeys])
    }

    private static func precondition(_ options: PutOptions) -> String? {
        options.ifNoneMatch ? "0" : options.ifMatch
    }

    /// `count` bytes of `file` from `offset`, read off the cooperative pool when large.
    private static func read(_ file: URL, offset: Int64, count: Int) async throws -> Data {
        do {
            return try await BlockingFileIO.run(bytes: count) {
                let handle = try FileHandle(forReadingFrom: file)
                defer { try? handle.close() }
                try handle.seek(toOffset: UInt64(offset))
                return try handle.read(upToCount: count) ?? Data()
            }
        } catch {
            throw ObjectStoreError(code: .io, message: "cannot read \(file.path)", underlying: error)
        }
    }
}
