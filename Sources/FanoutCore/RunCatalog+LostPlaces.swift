import FanoutStorage

extension RunCatalog {
    /// The places (a fleet's clusters) a run dropped while it ran and that no command has cleaned up since: the
    /// run's Jobs may still be there.
    public func lostPlaces(_ runID: String) async throws -> [LostPlaceRecord] {
        let state = RunStateStore(store: store, layout: RunStateLayout(root: root, runID: runID))
        var records: [LostPlaceRecord] = []
        for try await object in store.list(prefix: state.layout.lostPlacesPrefix) where object.key.hasSuffix(".json") {
            records.append(try await state.read(LostPlaceRecord.self, from: object.key))
        }
        return records.sorted { $0.place < $1.place }
    }

    /// Forgets a lost place, once what the run left there has been removed.
    public func forgetLostPlace(_ place: String, of runID: String) async throws {
        try await store.delete(keys: [RunStateLayout(root: root, runID: runID).lostPlace(place)])
    }
}
