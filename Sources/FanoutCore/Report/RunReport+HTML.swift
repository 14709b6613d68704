import FanoutStorage
import Foundation

extension RunReport {
    /// One self-contained HTML page: the run's figures, its timeline, files done per second with the workers
    /// running and pending, the histogram of file durations, the slowest files and every failed file listed. No
    /// script and nothing from elsewhere: inline SVG and CSS only.
    public func html() -> String {
        let title = "Fanout run \(info.runID)"
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(HTMLText.escape(title))</title>
            <style>
            body { font: 14px/1.4 "DejaVu Sans", sans-serif; margin: 24px; color: #212121; }
            h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
            table { border-collapse: collapse; } td, th { padding: 2px 10px 2px 0; text-align: left; vertical-align: top; }
            td.n { text-align: right; } pre { margin: 0; white-space: pre-wrap; font-size: 12px; }
            .legend span { display: inline-block; margin-right: 14px; }
            .legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; }
            svg text { font: 11px "DejaVu Sans", sans-serif; fill: #424242; }
            </style></head><body>
            <h1>\(HTMLText.escape(title))</h1>
            <p>\(HTMLText.escape(info.step)) over \(HTMLText.escape(info.input)), on \(HTMLText.escape(info.backend)): \(HTMLText.escape(info.status))</p>

            """
        page += figuresTable()
        page += "<h2>Shards and attempts</h2>\n" + legend() + timelineSVG()
        page += "<h2>Files done per second, workers running and pending</h2>\n" + throughputSVG()
        page += "<h2>How long files took</h2>\n" + histogramSVG()
        page += "<h2>Slowest files</h2>\n" + slowestTable()
        page += "<h2>Failed files (\(failedCount))</h2>\n" + failuresTable()
        return page + "</body></html>\n"
    }

    private func figuresTable() -> String {
        let seconds = Double(end - start) / 1000
        let rows: [(String, String)] = [
            ("files", "\(info.files)"), ("computed", "\(computed)"), ("cached", "\(cached)"),
            ("failed", "\(failedCount)"), ("bytes computed", "\(bytes)"), ("shards", "\(info.shards)"),
            ("attempts", "\(attempts.count) (\(attempts.filter(\.backup).count) backups)"),
            ("retries used", "\(retriesUsed)"),
            ("attempt outcomes", outcomes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")),
            ("API requests", info.apiRequests.map(String.init) ?? "none"),
            ("elapsed", String(format: "%.1f s", seconds)),
        ]
        return "<table class=\"figures\">\n"
            + rows.map { "<tr><th>\($0.0)</th><td>\(HTMLText.escape($0.1))</td></tr>" }.joined(separator: "\n")
            + "\n</table>\n"
    }

    private func legend() -> String {
        var seen: [String] = []
        var items = ["<span><i style=\"background:\(AttemptColors.pending)\"></i>pending</span>"]
        for attempt in attempts {
            let label = AttemptColors.label(outcome: attempt.outcome, backup: attempt.backup)
            guard !seen.contains(label) else { continue }
            seen.append(label)
            let color = AttemptColors.color(outcome: attempt.outcome, backup: attempt.backup)
            items.append("<span><i style=\"background:\(color)\"></i>\(HTMLText.escape(label))</span>")
        }
        return "<p class=\"legend\">" + items.joined() + "</p>\n"
    }

    /// The timeline alone, as an SVG document: a row per shard, each attempt a bar coloured by how it ended,
    /// its pending time in grey before it.
    public func timelineSVG() -> String {
        let shards = Array(Set(attempts.map(\.shard))).sorted()
        let row = 16.0
        let (left, width) = (70.0, 900.0)
        let height = Double(max(1, shards.count)) * row + 30
        let span = Double(max(1, end - start))
        func x(_ time: Int64) -> Double { left + Double(time - start) / span * width }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" width=\"\(Int(left + width + 20))\" "
            + "height=\"\(Int(height))\" viewBox=\"0 0 \(Int(left + width + 20)) \(Int(height))\">\n"
        let rowOf = Dictionary(uniqueKeysWithValues: shards.enumerated().map { ($1, $0) })
        for (shard, index) in rowOf.sorted(by: { $0.value < $1.value }) {
            let y = Double(index) * row
            svg += "<text x=\"0\" y=\"\(format(y + 12))\">shard \(shard)</text>\n"
        }
        for attempt in attempts {
            guard let index = rowOf[attempt.shard] else { continue }
            let y = Double(index) * row + 2
            let started = attempt.running ?? attempt.ended ?? end
            let finished = attempt.ended ?? end
            let label = AttemptColors.label(outcome: attempt.outcome, backup: attempt.backup)
            let tip = "shard \(attempt.shard) attempt \(attempt.attempt): \(label)"
                + (attempt.reason.map { ": \($0)" } ?? "")
            if started > attempt.launched {
                svg += "<rect class=\"pending\" x=\"\(format(x(attempt.launched)))\" y=\"\(format(y))\" "
                    + "width=\"\(format(max(1, x(started) - x(attempt.launched))))\" height=\"12\" "
                    + "fill=\"\(AttemptColors.pending)\"><title>\(HTMLText.escape(tip)) (pending)</title></rect>\n"
            }
            svg += "<rect class=\"attempt\" data-shard=\"\(attempt.shard)\" data-attempt=\"\(attempt.attempt)\" "
                + "data-outcome=\"\(attempt.outcome ?? "unfinished")\" x=\"\(format(x(started)))\" y=\"\(format(y))\" "
                + "width=\"\(format(max(2, x(finished) - x(started))))\" height=\"12\" "
                + "fill=\"\(AttemptColors.color(outcome: attempt.outcome, backup: attempt.backup))\">"
                + "<title>\(HTMLText.escape(tip))</title></rect>\n"
        }
        let axis = Double(max(1, shards.count)) * row + 14
        svg += "<text x=\"\(Int(left))\" y=\"\(format(axis))\">0 s</text>"
        svg += "<text x=\"\(Int(left + width - 40))\" y=\"\(format(axis))\">\(format(span / 1000)) s</text>\n"
        return svg + "</svg>\n"
    }

    private func throughputSVG() -> String {
        let (left, width, height) = (70.0, 900.0, 140.0)
        let buckets = Self.resample(filesPerSecond, to: 300)
        let peak = Double(max(1, buckets.max() ?? 1))
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"throughput\" width=\"\(Int(left + width + 20))\" "
            + "height=\"\(Int(height + 40))\">\n"
        let step = width / Double(max(1, buckets.count))
        for (index, count) in buckets.enumerated() where count > 0 {
            let barHeight = Double(count) / peak * height
            svg += "<rect x=\"\(format(left + Double(index) * step))\" y=\"\(format(height - barHeight))\" "
                + "width=\"\(format(max(1, step - 1)))\" height=\"\(format(barHeight))\" fill=\"#90a4ae\"/>\n"
        }
        let samples = workers(points: 200)
        let most = Double(max(1, samples.map { max($0.running, $0.pending) }.max() ?? 1))
        for (name, color, value) in [
            ("running", "#2e7d32", { (s: (running: Int, pending: Int)) in s.running }),
            ("pending", "#ef6c00", { (s: (running: Int, pending: Int)) in s.pending }),
        ] {
            let points = samples.enumerated().map { index, sample in
                "\(format(left + Double(index) / Double(max(1, samples.count - 1)) * width)),"
                    + "\(format(height - Double(value(sample)) / most * height))"
            }
            svg += "<polyline class=\"workers-\(name)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" "
                + "points=\"\(points.joined(separator: " "))\"/>\n"
        }
        svg += "<text x=\"0\" y=\"12\">\(Int(peak)) files/s</text>"
        svg += "<text x=\"0\" y=\"\(Int(height + 30))\">workers: running (green), pending (orange), up to \(Int(most))</text>\n"
        return svg + "</svg>\n"
    }

    private func histogramSVG() -> String {
        let (left, height, bar) = (70.0, 120.0, 56.0)
        let first = durationHistogram.firstIndex { $0 > 0 } ?? 0
        let buckets = Array(durationHistogram.enumerated().dropFirst(first))
        let peak = Double(max(1, durationHistogram.max() ?? 1))
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"histogram\" "
            + "width=\"\(Int(left + bar * Double(max(1, buckets.count)) + 20))\" height=\"\(Int(height + 40))\">\n"
        for (position, (index, count)) in buckets.enumerated() {
            let barHeight = Double(count) / peak * height
            let x = left + Double(position) * bar
            svg += "<rect x=\"\(format(x))\" y=\"\(format(height - barHeight))\" width=\"\(format(bar - 6))\" "
                + "height=\"\(format(barHeight))\" fill=\"#5c6bc0\"><title>\(count) files</title></rect>\n"
            svg += "<text x=\"\(format(x))\" y=\"\(Int(height + 14))\">\(HTMLText.escape(Self.bucketLabel(index)))</text>\n"
        }
        svg += "<text x=\"0\" y=\"12\">\(Int(peak)) files</text>\n"
        return svg + "</svg>\n"
    }

    private func slowestTable() -> String {
        guard !slowest.isEmpty else { return "<p>none</p>\n" }
        return "<table>\n<tr><th>file</th><th>shard</th><th>seconds</th></tr>\n"
            + slowest.map { file in
                "<tr><td>\(HTMLText.escape(file.key))</td><td class=\"n\">\(file.shard.map(String.init) ?? "")</td>"
                    + "<td class=\"n\">\(String(format: "%.3f", file.seconds))</td></tr>"
            }.joined(separator: "\n") + "\n</table>\n"
    }

    private func failuresTable() -> String {
        guard !failures.isEmpty else { return "<p>none</p>\n" }
        var table = "<table class=\"failures\">\n<tr><th>file</th><th>shard</th><th>reason</th></tr>\n"
        table += failures.map { failure in
            "<tr><td>\(HTMLText.escape(failure.key))</td><td class=\"n\">\(failure.shard.map(String.init) ?? "")</td>"
                + "<td><pre>\(HTMLText.escape(failure.message))</pre></td></tr>"
        }.joined(separator: "\n")
        if failedCount > failures.count { table += "\n<tr><td colspan=\"3\">and \(failedCount - failures.count) more</td></tr>" }
        return table + "\n</table>\n"
    }

    /// Bucket `i`'s upper bound as a person reads it: `<1ms`, `<2ms`, ... `<1s`, `<2s`.
    static func bucketLabel(_ index: Int) -> String {
        let millis = 1 << index
        return millis < 1000 ? "<\(millis)ms" : "<\(millis / 1000)s"
    }

    /// At most `count` buckets, each the sum of the ones it covers.
    static func resample(_ values: [Int], to count: Int) -> [Int] {
        guard values.count > count, count > 0 else { return values }
        var result = Array(repeating: 0, count: count)
        for (index, value) in values.enumerated() { result[index * count / values.count] += value }
        return result
    }

    private func format(_ value: Double) -> String { String(format: "%.1f", value) }
}

/// Text made safe for HTML and SVG: the XML escapes, which HTML reads too.
enum HTMLText {
    static func escape(_ text: String) -> String { xmlEscaped(text) }
}
