import Foundation
import Synchronization

/// Stores a ``LostPlaceRecord`` for each place the run drops, as soon as it is dropped, so that commands run later
/// (`fanout cancel`, `fanout gc`) know where the run may have left work behind, even if this driver dies next.
///
/// An event handler cannot wait, so each record is written in a task of its own; ``finish()`` awaits them all.
final class LostPlaceRecorder: Sendable {
    private let state: RunStateStore
    /// The backend's places by index, as ``AttemptEvent/placeLost(place:reason:)`` names them.
    private let names: [String]
    private let writes = Mutex<[Task<(any Error)?, Never>]>([])

    init(state: RunStateStore, places: [BackendPlace]) {
        self.state = state
        self.names = places.map(\.name)
    }

    func observe(_ event: RunEvent) {
        guard case .attempt(.placeLost(let place, let reason)) = event, names.indices.contains(place) else { return }
        let record = LostPlaceRecord(place: names[place], reason: reason, lostAt: Date())
        let key = state.layout.lostPlace(record.place)
        let write = Task { [state] () -> (any Error)? in
            do {
                try await state.write(record, to: key)
                return nil
            } catch {
                return error
            }
        }
        writes.withLock { $0.append(write) }
    }

    /// Waits for every record started so far; the errors of those that could not be stored.
    func finish() async -> [any Error] {
        let started = writes.withLock { writes in
            defer { writes = [] }
            return writes
        }
        var errors: [any Error] = []
        for write in started {
            if let error = await write.value { errors.append(error) }
        }
        return errors
    }
}
