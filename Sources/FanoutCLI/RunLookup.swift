import Fanout

extension RunCatalog {
    /// The run's record; when it is not under this prefix, an error that says where runs are kept and how to
    /// point at them.
    func infoExplained(_ runID: String) async throws -> Info {
        do {
            return try await info(runID)
        } catch let error as RunError where error.code == .notFound {
            throw RunError(
                code: .notFound,
                message: "no run \(runID) under \(state): a run's state stays where it was started with (--state, "
                    + "FANOUT_STATE, else .fanout/ at the root of its input's folder or bucket); give that prefix "
                    + "with --state (`fanout runs --state PREFIX` lists the runs there)")
        }
    }
}
