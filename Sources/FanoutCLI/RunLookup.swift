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
                message: "no run \(runID) under \(state): runs started on this machine are found without --state "
                    + "(`fanout runs` lists them); for a run started elsewhere, give the state prefix it was started "
                    + "with as --state (`fanout runs --state PREFIX` lists the runs there)")
        }
    }
}
