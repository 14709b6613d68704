/// What `fanout run`'s status line looks like, for tests that read a terminal's screen.
public enum ProgressLine {
    /// Whether `line` is a status line and nothing else: `3/8 files, 1 failed, 2 files/s, ETA 4s, 3s elapsed`
    /// while the run goes, `8/8 files, 2 files/s, 4.1s` at its end.
    public static func isWhole(_ line: String) -> Bool {
        let pattern = #/
            \d+/\d+ \s files?
            (?:, \s \d+ \s (?:failed|cached|running|pending))*
            , \s \d+ \s files/s
            (?:, \s ETA \s [0-9hms]+)?
            , \s (?:[0-9hms]+ \s elapsed|\d+\.\ds)
            (?:, \s \d+ \s Kubernetes \s API \s requests)?
            /#
        return line.wholeMatch(of: pattern) != nil
    }

    /// Whether `line` is the status line of an ended run: its time is the run's, `4.1s`, not `3s elapsed`.
    public static func isFinal(_ line: String) -> Bool {
        isWhole(line) && !line.contains(" elapsed") && !line.contains("ETA")
    }

    /// Whether any part of `line` looks like status text, alone or beside other text.
    public static func mentions(_ line: String) -> Bool {
        line.contains("files/s") || line.contains(" elapsed") || line.contains(#/\d+/\d+ files?,/#)
    }
}
