/// Keys of what runs share under the state prefix: shipped executables and the cache index, and the marks by which
/// a run says which shipped executable it uses.
extension RunStateLayout {
    /// `PREFIX/v1/bin/`: executables shipped to pods, named by the SHA-256 of their bytes.
    var executablesPrefix: String { "\(root)\(Self.version)/bin/" }

    /// `PREFIX/v1/runs/RUN/executables/`: one empty object per shipped executable this run's workers use.
    var executableUsesPrefix: String { runPrefix + "executables/" }

    func executableUse(digest: String) -> String { executableUsesPrefix + digest }

    /// `PREFIX/v1/cache/`: the newest complete run of each step, version and input.
    var cachePrefix: String { "\(root)\(Self.version)/cache/" }
}
