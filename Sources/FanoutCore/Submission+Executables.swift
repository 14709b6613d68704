import FanoutStorage
import Foundation

extension Submission {
    /// Records that this run's workers use the shipped executable whose SHA-256 is `digest` (stored at
    /// `PREFIX/v1/bin/DIGEST`), so that `fanout gc` keeps that executable as long as it keeps the run.
    public func recordExecutable(digest: String) async throws {
        try await state.store.put(
            key: state.layout.executableUse(digest: digest), data: Data(), options: PutOptions())
    }
}
