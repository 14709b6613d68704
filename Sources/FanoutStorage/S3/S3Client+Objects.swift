public import Foundation
import FanoutHTTP
import FanoutSigV4
import Crypto

extension S3Client {
    /// HeadObject: the object's size, ETag and modification time.
    public func headObject(bucket: String, key: String) async throws -> ObjectInfo {
        let response = try await send(.head, bucket: bucket, key: key)
        return ObjectInfo(
            key: key,
            size: Int64(response.headers["Content-Length"] ?? "") ?? 0,
            etag: S3Dates.unquote(response.headers["ETag"] ?? ""),
            lastModified: S3Dates.parseHTTPDate(response.headers["Last-Modified"] ?? "") ?? Date(timeIntervalSince1970: 0))
    }

    /// GetObject, collected in memory; with `ifMatch`, only while the object has that ETag (else a
    /// ``ObjectStoreError/Code/preconditionFailed`` error).
    public func getObject(
        bucket: String, key: String, range: ClosedRange<Int64>? = nil, ifMatch: String? = nil
    ) async throws -> Data {
        try await send(
            .get, bucket: bucket, key: key, headers: Self.getHeaders(range, ifMatch: ifMatch), maxBodyBytes: Int.max
        ).body
    }

    /// GetObject, streamed as it arrives; `ifMatch` as for ``getObject(bucket:key:range:ifMatch:)``. A body that
    /// stalls or breaks off is asked for again from the first byte not yet delivered, of the same version (`Range`
    /// and `If-Match`), following the HTTP client's retry policy.
    public func streamObject(
        bucket: String, key: String, range: ClosedRange<Int64>? = nil, ifMatch: String? = nil
    ) async throws -> ObjectByteStream {
        let response = try await execute(
            .get, url: url(bucket: bucket, key: key), headers: Self.getHeaders(range, ifMatch: ifMatch))
        guard response.isSuccess else {
            let body = (try? await response.body.collect(upTo: 1 << 20)) ?? Data()
            throw S3ErrorResponse.error(
                status: response.status, headers: response.headers, body: body, bucket: bucket, key: key,
                configuredRegion: configuration.region)
        }
        let etag = response.headers["ETag"]
        let body = ResumableObjectBody(
            http: http, logger: logger, bucket: bucket, key: key, scheme: Self.scheme, resumable: etag != nil,
            first: response.body
        ) { [self] delivered in
            try await resumeRead(bucket: bucket, key: key, range: range, etag: etag, delivered: delivered)
        }
        return ObjectByteStream(length: Int64(response.headers["Content-Length"] ?? ""), body)
    }

    /// The rest of a read that broke off after `delivered` bytes, of the same version (`If-Match` with its ETag).
    private func resumeRead(
        bucket: String, key: String, range: ClosedRange<Int64>?, etag: String?, delivered: Int64
    ) async throws -> HTTPResponseBody {
        let start = (range?.lowerBound ?? 0) + delivered
        var headers: HTTPHeaders = ["Range": "bytes=\(start)-\(range.map { String($0.upperBound) } ?? "")"]
        if let etag { headers.add(name: "If-Match", value: etag) }
        let response = try await execute(.get, url: url(bucket: bucket, key: key), headers: headers)
        guard response.status == 206 else {
            let data = (try? await response.body.collect(upTo: 1 << 20)) ?? Data()
            var error = S3ErrorResponse.error(
                status: response.status, headers: response.headers, body: data, bucket: bucket, key: key,
                configuredRegion: configuration.region)
            if response.status == 412 {
                error.message = "the object changed while it was read; run again to read the new version"
            } else if response.isSuccess {
                error.message = "the server ignored the Range of a resumed read (status \(response.status))"
            }
            throw error
        }
        return response.body
    }

    /// PutObject from bytes in memory.
    @discardableResult
    public func putObject(bucket: String, key: String, data: Data, options: PutOptions = PutOptions()) async throws
        -> PutResult
    {
        let response = try await send(.put, bucket: bucket, key: key, headers: Self.putHeaders(options), body: data)
        return PutResult(etag: S3Dates.unquote(response.headers["ETag"] ?? ""))
    }

    /// Uploads a local file: one PutObject streamed from disk up to the multipart threshold, a multipart upload
    /// above it.
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
        if size > Int64(configuration.multipartThreshold) {
            return try await uploadMultipart(bucket: bucket, key: key, options: options, parts: FileParts(
                url: file, partSize: configuration.partSize))
        }
        let body: HTTPRequestBody
        do { body = try .file(path: file.path) } catch {
            throw ObjectStoreError(code: .io, message: "cannot read \(file.path)", underlying: error)
        }
        let response = try await execute(
            .put, url: url(bucket: bucket, key: key), headers: Self.putHeaders(options), body: body,
            payloadHash: "UNSIGNED-PAYLOAD")
        let data = (try? await response.body.collect(upTo: 1 << 20)) ?? Data()
        guard response.isSuccess else {
            throw S3ErrorResponse.error(
                status: response.status, headers: response.headers, body: data, bucket: bucket, key: key,
                configuredRegion: configuration.region)
        }
        return PutResult(etag: S3Dates.unquote(response.headers["ETag"] ?? ""))
    }

    /// Uploads bytes produced as a stream: buffered into one PutObject while under the multipart threshold,
    /// otherwise sent as parts as they fill, so memory stays at a few parts whatever the size.
    @discardableResult
    public func putObject<Chunks: AsyncSequence & Sendable>(
        bucket: String, key: String, chunks: Chunks, options: PutOptions = PutOptions()
    ) async throws -> PutResult where Chunks.Element == Data {
        var iterator = chunks.makeAsyncIterator()
        var head = Data()
        while head.count <= configuration.multipartThreshold, let chunk = try await iterator.next() {
            head.append(chunk)
        }
        if head.count <= configuration.multipartThreshold {
            // A cancelled producer may have ended its stream early: never store a truncated object.
            try Task.checkCancellation()
            return try await putObject(bucket: bucket, key: key, data: head, options: options)
        }
        let parts = StreamParts(first: head, rest: iterator, partSize: configuration.partSize)
        return try await uploadMultipart(bucket: bucket, key: key, options: options, parts: parts)
    }

    /// DeleteObject; deleting a missing key succeeds, as in S3.
    public func deleteObject(bucket: String, key: String) async throws {
        _ = try await send(.delete, bucket: bucket, key: key)
    }

    /// DeleteObjects, 1,000 keys per request.
    ///
    /// - Throws: the first per-key error the server reported, after every batch was sent.
    public func deleteObjects(bucket: String, keys: [String]) async throws {
        var firstError: ObjectStoreError?
        for start in stride(from: 0, to: keys.count, by: 1000) {
            let batch = keys[start..<min(start + 1000, keys.count)]
            var xml = "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>"
            for key in batch { xml += "<Object><Key>\(xmlEscaped(key))</Key></Object>" }
            xml += "</Delete>"
            let body = Data(xml.utf8)
            let md5 = Data(Insecure.MD5.hash(data: body)).base64EncodedString()
            let response = try await send(
                .post, bucket: bucket, query: [("delete", "")],
                headers: ["Content-Type": "application/xml", "Content-MD5": md5], body: body)
            if firstError == nil, let root = try? XMLNode.parse(response.body), let failed = root.child("Error") {
                firstError = ObjectStoreError(
                    code: failed["Code"] == "AccessDenied" ? .accessDenied : .server,
                    message: "could not delete: \(failed["Message"] ?? "unknown error")", serverCode: failed["Code"],
                    bucket: bucket, key: failed["Key"])
            }
        }
        if let firstError { throw firstError }
    }

    /// A presigned URL for GET or PUT of one object, valid for `expires` (at most 7 days).
    public func presignedURL(bucket: String, key: String, method: PresignMethod, expires: Duration) async throws -> URL {
        let target = url(bucket: bucket, key: key)
        guard let credentials = try await currentCredentials() else { return target }
        do {
            return try SigV4Signer(credentials: credentials, region: configuration.region)
                .presignURL(method: method.rawValue, url: target, expires: expires, date: configuration.now())
        } catch {
            throw ObjectStoreError(
                code: .invalidArgument, message: "cannot presign: \(error)",
                hint: "Presigned URLs last from 1 second to 7 days.", bucket: bucket, key: key, underlying: error)
        }
    }

    static func getHeaders(_ range: ClosedRange<Int64>?, ifMatch: String?) -> HTTPHeaders {
        var headers: HTTPHeaders = [:]
        if let range { headers.add(name: "Range", value: "bytes=\(range.lowerBound)-\(range.upperBound)") }
        if let ifMatch { headers.add(name: "If-Match", value: "\"\(ifMatch)\"") }
        return headers
    }

    static func putHeaders(_ options: PutOptions) -> HTTPHeaders {
        var headers: HTTPHeaders = ["Content-Type": options.contentType]
        if options.ifNoneMatch { headers.add(name: "If-None-Match", value: "*") }
        if let ifMatch = options.ifMatch { headers.add(name: "If-Match", value: "\"\(ifMatch)\"") }
        return headers
    }
}
