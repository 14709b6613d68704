/// The colour of each way an attempt can end, on the report's timeline and in its legend.
public enum AttemptColors {
    /// Time between an attempt's launch and its start: waiting for a node, pulling an image.
    public static let pending = "#cfd8dc"

    /// By outcome; a backup that won or lost has colours of its own.
    public static func color(outcome: String?, backup: Bool) -> String {
        switch (outcome, backup) {
        case ("succeeded", true): "#1565c0"
        case ("cancelled", true): "#90caf9"
        case ("succeeded", _): "#2e7d32"
        case ("failed", _): "#c62828"
        case ("crashed", _): "#ad1457"
        case ("disrupted", _): "#f9a825"
        case ("oomKilled", _): "#6a1b9a"
        case ("misconfigured", _), ("exhausted", _): "#4e342e"
        case ("cancelled", _): "#757575"
        default: "#26c6da"
        }
    }

    /// What the legend calls each colour.
    public static func label(outcome: String?, backup: Bool) -> String {
        switch (outcome, backup) {
        case ("succeeded", true): "backup that won"
        case ("cancelled", true): "backup that lost"
        case ("succeeded", _): "committed"
        case ("oomKilled", _): "OOM-killed"
        case (nil, _): "unfinished"
        case (let outcome?, _): outcome
        }
    }
}
