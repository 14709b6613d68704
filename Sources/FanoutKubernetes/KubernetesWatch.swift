import Foundation

extension KubernetesClient {
    /// Every change to the objects matching a selector, for as long as it is iterated: a list, then one watch
    /// stream at a time.
    ///
    /// The first event is ``KubernetesWatch/Event/synced(_:)`` with every current object. A stream the server
    /// closes or that breaks is opened again from the last resourceVersion seen (events or bookmarks), so nothing
    /// is missed or repeated. When that resourceVersion has expired (410, as an `ERROR` event or a status), the
    /// objects are listed again and delivered as another `synced` event. Other errors are thrown.
    public func watchChanges<T: KubernetesObject>(
        _ type: T.Type, namespace: String? = nil, labelSelector: String? = nil, pageSize: Int = 500,
        timeoutSeconds: Int = 300
    ) -> KubernetesWatch<T> {
        KubernetesWatch(
            client: self, namespace: namespace ?? self.namespace, labelSelector: labelSelector, pageSize: pageSize,
            timeoutSeconds: timeoutSeconds)
    }
}

/// The changes to a set of objects, kept continuous across dropped streams and expired resourceVersions.
/// See ``KubernetesClient/watchChanges(_:namespace:labelSelector:pageSize:timeoutSeconds:)``.
public struct KubernetesWatch<T: KubernetesObject>: AsyncSequence, Sendable {
    public enum Event: Sendable {
        /// Every object that exists now: at the start, and after a re-list. Objects known before and absent
        /// here were deleted meanwhile.
        case synced([T])
        case added(T)
        case modified(T)
        case deleted(T)
    }

    public typealias Element = Event

    let client: KubernetesClient
    let namespace: String
    let labelSelector: String?
    let pageSize: Int
    let timeoutSeconds: Int

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(watch: self) }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let watch: KubernetesWatch
        var stream: KubernetesWatchStream<T>.AsyncIterator?
        var resourceVersion: String?
        var needsList = true
        var failures = 0
        /// Whether the current stream delivered anything; one that ends at once counts as a failure.
        var streamDelivered = false

        init(watch: KubernetesWatch) { self.watch = watch }

        public mutating func next() async throws -> Event? {
            while true {
                try Task.checkCancellation()
                if needsList {
                    let list = try await watch.client.listAll(
                        T.self, namespace: watch.namespace, labelSelector: watch.labelSelector, pageSize: watch.pageSize
                    )
                    resourceVersion = list.metadata.resourceVersion
                    needsList = false
                    stream = nil
                    return .synced(list.items)
                }
                if stream == nil {
                    do {
                        streamDelivered = false
                        stream = try await watch.client.watch(
                            T.self, namespace: watch.namespace, labelSelector: watch.labelSelector,
                            resourceVersion: resourceVersion, timeoutSeconds: watch.timeoutSeconds
                        ).makeAsyncIterator()
                    } catch let error as KubernetesError where error.code == .expired {
                        needsList = true
                        continue
                    } catch let error as KubernetesError where error.code == .transport {
                        try await backOff(after: error)
                        continue
                    }
                }
                let event: WatchEvent<T>?
                do {
                    event = try await stream!.next()
                } catch let error as KubernetesError where error.code == .transport {
                    stream = nil
                    try await backOff(after: error)
                    continue
                }
                switch event {
                case nil:
                    stream = nil
                    if !streamDelivered {
                        try await backOff(
                            after: KubernetesError(
                                code: .transport, message: "the watch stream keeps closing at once",
                                operation: "watch \(T.resource.plural)"))
                    }
                case .bookmark(let version):
                    streamDelivered = true
                    failures = 0
                    if !version.isEmpty { resourceVersion = version }
                case .error(let error) where error.code == .expired:
                    needsList = true
                case .error(let error):
                    stream = nil
                    try await backOff(after: error)
                case .added(let object):
                    failures = 0
                    streamDelivered = true
                    resourceVersion = object.metadata.resourceVersion ?? resourceVersion
                    return .added(object)
                case .modified(let object):
                    failures = 0
                    streamDelivered = true
                    resourceVersion = object.metadata.resourceVersion ?? resourceVersion
                    return .modified(object)
                case .deleted(let object):
                    failures = 0
                    streamDelivered = true
                    resourceVersion = object.metadata.resourceVersion ?? resourceVersion
                    return .deleted(object)
                }
            }
        }

        /// Waits before opening a stream again: at once the first time, then longer, up to 5 s; gives up after
        /// ten failures in a row.
        private mutating func backOff(after error: KubernetesError) async throws {
            failures += 1
            if failures > 10 { throw error }
            if failures > 1 {
                try await Task.sleep(for: .milliseconds(Swift.min(5000, 100 << Swift.min(failures, 6))))
            }
        }
    }
}
