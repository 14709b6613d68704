/// The images a run's pods use unless ``KubernetesBackend/Options`` names others.
///
/// A shipped executable built the usual way (`swift build`) links the Swift runtime, Foundation and libcurl
/// dynamically, so the worker image must carry the runtime libraries of the exact Swift release that built it.
/// The official `swift:RELEASE-noble-slim` images carry them and nothing else (no compiler). An executable built
/// with `--static-swift-stdlib` still needs glibc, libcurl and the other C libraries of Foundation, which the same
/// image has; only a fully static one (the Static Linux SDK, musl) runs in any image.
public enum WorkerImage {
    /// The Swift release this module was compiled with, which is the release of the executable shipped by default
    /// (this process). Kept to the toolchain's `swift --version` by a test.
    public static let swiftRelease: String = {
        #if compiler(>=6.3.1)
            "6.3.1"
        #elseif compiler(>=6.3)
            "6.3"
        #elseif compiler(>=6.2)
            "6.2"
        #else
            "6.1"
        #endif
    }()

    /// The default worker image: `swift:RELEASE-noble-slim`, the Swift runtime of ``swiftRelease`` on Ubuntu 24.04.
    ///
    /// Its glibc (2.39) is at least that of every Linux the Swift project builds for (Debian 12: 2.36, Ubuntu
    /// 22.04: 2.35, RHEL 9: 2.34, Amazon Linux 2: 2.26), so an executable built on any of them loads there; it is
    /// published for amd64 and arm64.
    public static var swiftRuntime: String { "swift:\(swiftRelease)-noble-slim" }

    /// The default image of the init container that downloads the executable: `curlimages/curl:8.11.1`, about
    /// 10 MB with `sh`, `curl` and `sha256sum`. The Swift slim images keep libcurl but remove the `curl` program.
    public static let downloader = "curlimages/curl:8.11.1"
}
