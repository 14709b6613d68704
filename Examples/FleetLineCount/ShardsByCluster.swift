import Fanout
import Synchronization

/// Counts the shards each cluster finished, from the run's events: where each attempt was launched, and which
/// attempts succeeded.
final class ShardsByCluster: Sendable {
    private let state = Mutex<(placeOf: [AttemptID: Int], finished: [String: Int])>(([:], [:]))

    func observe(_ event: RunEvent, clusters: [String]) {
        state.withLock { state in
            switch event {
            case .launched(let launch):
                state.placeOf[launch.id] = launch.place
            case .attempt(.exited(let id, .succeeded)):
                if let place = state.placeOf[id], clusters.indices.contains(place) {
                    state.finished[clusters[place], default: 0] += 1
                }
            default:
                break
            }
        }
    }

    /// Shards finished, by cluster name.
    var counts: [String: Int] { state.withLock { $0.finished } }
}
