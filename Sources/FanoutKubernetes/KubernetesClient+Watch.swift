import FanoutHTTP
import Foundation

/// One event of a watch stream.
public enum WatchEvent<Object: KubernetesObject>: Sendable {
    case added(Object)
    case modified(Object)
    case deleted(Object)
    /// The server's progress mark: nothing changed up to this resourceVersion.
    case bookmark(resourceVersion: String)
    /// An `ERROR` event: a `Status`, usually 410 `Expired` (the resourceVersion is too old: list again).
    case error(KubernetesError)
}

extension KubernetesClient {
    /// Opens one watch stream: the events after `resourceVersion` (or synthetic `ADDED` events for the current
    /// objects, then live ones, when `nil`), until the server ends it.
    ///
    /// The stream ends when the server closes it (after `timeoutSeconds`, or at any time); reconnecting is the
    /// caller's job, from the last resourceVersion seen.
    /// ``watchChanges(_:namespace:labelSelector:pageSize:timeoutSeconds:)``
    /// does all of that.
    public func watch<T: KubernetesObject>(
        _ type: T.Type, namespace: String? = nil, labelSelector: String? = nil, resourceVersion: String? = nil,
        allowWatchBookmarks: Bool = true, timeoutSeconds: Int = 300
    ) async throws -> KubernetesWatchStream<T> {
        let resource = T.resource
        var query: [(String, String)] = [("watch", "1")]
        if let labelSelector, !labelSelector.isEmpty { query.append(("labelSelector", labelSelector)) }
        if let resourceVersion { query.append(("resourceVersion", resourceVersion)) }
        if allowWatchBookmarks { query.append(("allowWatchBookmarks", "true")) }
        query.append(("timeoutSeconds", String(timeoutSeconds)))
        let operation = "watch \(resource.plural)"
        let response = try await perform(
            Request(
                method: .get, path: resource.path(namespace: namespace ?? self.namespace), query: query,
                operation: operation, idempotent: true, timeout: .seconds(timeoutSeconds + 30)))
        return KubernetesWatchStream(body: response.body, operation: operation)
    }
}

/// The events of one watch stream, parsed as the bytes arrive: a JSON object split across chunks is held until
/// its end arrives. The body's buffer is bounded, so a slow reader slows the server down.
///
/// Iteration ends when the server closes the stream, and throws ``KubernetesError`` with code
/// ``KubernetesError/Code/transport`` when the connection breaks.
public struct KubernetesWatchStream<T: KubernetesObject>: AsyncSequence, Sendable {
    public typealias Element = WatchEvent<T>

    let body: HTTPResponseBody
    let operation: String

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(chunks: body.makeAsyncIterator(), operation: operation)
    }

    /// Stops reading and closes the connection.
    public func cancel() { body.discard() }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var chunks: HTTPResponseBody.AsyncIterator
        let operation: String
        var splitter = JSONLineSplitter()
        var ready: [Data] = []
        var ended = false

        public mutating func next() async throws -> WatchEvent<T>? {
            while true {
                if !ready.isEmpty {
                    return try WatchEventDecoder.decode(ready.removeFirst(), as: T.self, operation: operation)
                }
                if ended { return nil }
                let chunk: Data?
                do {
                    chunk = try await chunks.next()
                } catch let error as HTTPClientError {
                    if error.code == .cancelled || Task.isCancelled { throw CancellationError() }
                    throw KubernetesError(
                        code: .transport, message: "the watch stream broke off: \(error.message)", operation: operation,
                        underlying: error)
                }
                guard let chunk else {
                    ended = true
                    // A last object without its newline is kept only if it is whole.
                    if let rest = splitter.finish(), (try? JSONSerialization.jsonObject(with: rest)) != nil {
                        ready.append(rest)
                    }
                    continue
                }
                do {
                    ready = try splitter.append(chunk)
                } catch {
                    throw KubernetesError(
                        code: .invalidResponse, message: "a watch event is larger than \(splitter.maxLineBytes) bytes",
                        operation: operation)
                }
            }
        }
    }
}

/// Decodes one line of a watch stream.
enum WatchEventDecoder {
    private struct Header: Decodable { var type: String }
    private struct ObjectEvent<T: Decodable>: Decodable { var object: T }
    private struct Bookmark: Decodable {
        struct Object: Decodable {
            struct Metadata: Decodable { var resourceVersion: String? }
            var metadata: Metadata?
        }
        var object: Object
    }

    static func decode<T: KubernetesObject>(_ line: Data, as type: T.Type, operation: String) throws -> WatchEvent<T> {
        do {
            let header = try JSONDecoder().decode(Header.self, from: line)
            switch header.type {
            case "ADDED": return .added(try JSONDecoder().decode(ObjectEvent<T>.self, from: line).object)
            case "MODIFIED": return .modified(try JSONDecoder().decode(ObjectEvent<T>.self, from: line).object)
            case "DELETED": return .deleted(try JSONDecoder().decode(ObjectEvent<T>.self, from: line).object)
            case "BOOKMARK":
                let bookmark = try JSONDecoder().decode(Bookmark.self, from: line)
                return .bookmark(resourceVersion: bookmark.object.metadata?.resourceVersion ?? "")
            case "ERROR":
                let status = try JSONDecoder().decode(ObjectEvent<KubernetesStatus>.self, from: line).object
                return .error(KubernetesError(status: status, httpStatus: status.code ?? 500, operation: operation))
            default:
                throw KubernetesError(
                    code: .invalidResponse, message: "unknown watch event type '\(header.type)'", operation: operation)
            }
        } catch let error as KubernetesError {
            throw error
        } catch {
            throw KubernetesError(
                code: .invalidResponse, message: "a watch event could not be decoded: \(error)", operation: operation,
                underlying: error)
        }
    }
}
