import Foundation
import FanoutHTTP

/// A source of an upload's parts, read one after another.
protocol UploadParts {
    mutating func nextPart() async throws -> Data?
}

extension S3Client {
    /// Uploads in parts: CreateMultipartUpload, UploadPart with ``S3Configuration/partConcurrency`` in flight,
    /// CompleteMultipartUpload. Any failure aborts the upload so no parts are left behind.
    func uploadMultipart(
        bucket: String, key: String, options: PutOptions, parts: some UploadParts
    ) async throws -> PutResult {
        let created = try await send(
            .post, bucket: bucket, key: key, query: [("uploads", "")],
            headers: ["Content-Type": options.contentType])
        guard let uploadID = try XMLNode.parse(created.body)["UploadId"] else {
            throw ObjectStoreError(
                code: .server, message: "CreateMultipartUpload answered without an UploadId", bucket: bucket, key: key)
        }
        do {
            let etags = try await uploadParts(bucket: bucket, key: key, uploadID: uploadID, parts: parts)
            // A cancelled producer may have ended its stream early: never complete a truncated object.
            try Task.checkCancellation()
            var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            for (index, etag) in etags.enumerated() {
                xml += "<Part><PartNumber>\(index + 1)</PartNumber><ETag>\"\(etag)\"</ETag></Part>"
            }
            xml += "</CompleteMultipartUpload>"
            var headers: HTTPHeaders = ["Content-Type": "application/xml"]
            if options.ifNoneMatch { headers.add(name: "If-None-Match", value: "*") }
            let completed = try await send(
                .post, bucket: bucket, key: key, query: [("uploadId", uploadID)], headers: headers,
                body: Data(xml.utf8))
            // CompleteMultipartUpload can fail after answering 200: the error is in the body.
            let root = try XMLNode.parse(completed.body)
            if root.name == "Error" {
                throw S3ErrorResponse.error(
                    status: 500, headers: completed.headers, body: completed.body, bucket: bucket, key: key,
                    configuredRegion: configuration.region)
            }
            return PutResult(etag: S3Dates.unquote(root["ETag"] ?? ""))
        } catch {
            // In a task of its own, so that the abort is sent even when this task was cancelled.
            await Task { try? await self.abortMultipartUpload(bucket: bucket, key: key, uploadID: uploadID) }.value
            throw error
        }
    }

    /// AbortMultipartUpload: frees the parts uploaded so far.
    public func abortMultipartUpload(bucket: String, key: String, uploadID: String) async throws {
        _ = try await send(.delete, bucket: bucket, key: key, query: [("uploadId", uploadID)])
    }

    private func uploadParts(
        bucket: String, key: String, uploadID: String, parts: some UploadParts
    ) async throws -> [String] {
        var parts = parts
        var etags: [Int: String] = [:]
        try await withThrowingTaskGroup(of: (Int, String).self) { group in
            var number = 0
            var inFlight = 0
            while let part = try await parts.nextPart() {
                number += 1
                if inFlight >= configuration.partConcurrency {
                    let (done, etag) = try await group.next()!
                    etags[done] = etag
                    inFlight -= 1
                }
                let partNumber = number
                group.addTask {
                    let response = try await self.send(
                        .put, bucket: bucket, key: key,
                        query: [("partNumber", String(partNumber)), ("uploadId", uploadID)], body: part)
                    return (partNumber, S3Dates.unquote(response.headers["ETag"] ?? ""))
                }
                inFlight += 1
            }
            for try await (done, etag) in group { etags[done] = etag }
        }
        return (1...max(etags.count, 1)).compactMap { etags[$0] }
    }
}

/// Parts read from a local file.
struct FileParts: UploadParts {
    let url: URL
    let partSize: Int
    private var handle: FileHandle?

    init(url: URL, partSize: Int) {
        self.url = url
        self.partSize = partSize
    }

    mutating func nextPart() async throws -> Data? {
        if handle == nil {
            do { handle = try FileHandle(forReadingFrom: url) } catch {
                throw ObjectStoreError(code: .io, message: "cannot read \(url.path)", underlying: error)
            }
        }
        guard let data = try handle?.read(upToCount: partSize), !data.isEmpty else {
            try? handle?.close()
            return nil
        }
        return data
    }
}

/// Parts cut from a stream of chunks, starting with bytes already read.
struct StreamParts<Iterator: AsyncIteratorProtocol>: UploadParts where Iterator.Element == Data {
    var buffer: Data
    var rest: Iterator
    let partSize: Int
    var finished = false

    init(first: Data, rest: Iterator, partSize: Int) {
        self.buffer = first
        self.rest = rest
        self.partSize = partSize
    }

    mutating func nextPart() async throws -> Data? {
        while !finished && buffer.count < partSize {
            if let chunk = try await rest.next() { buffer.append(chunk) } else { finished = true }
        }
        guard !buffer.isEmpty else { return nil }
        let part = buffer.prefix(partSize)
        buffer = Data(buffer.dropFirst(part.count))
        return Data(part)
    }
}
