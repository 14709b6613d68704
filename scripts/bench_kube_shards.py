#!/usr/bin/env python3
"""Summarises scripts/bench-kube-shards's JSON lines into a table and writes it to docs/BENCHMARKS.md.

    bench_kube_shards.py RESULTS.jsonl [MORE.jsonl] --write docs/BENCHMARKS.md --command "..." --machine "..."
"""
import argparse
import datetime
import json

from bench_markdown import write_section

SECTION_START = "<!-- kube-shards:start -->"
SECTION_END = "<!-- kube-shards:end -->"

# What the measurements showed: kept here, so that a new run of the benchmark writes it again.
FINDINGS = """\
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("results", nargs="+", help="JSON lines of one or more series (backups on, off)")
    parser.add_argument("--write", default="", help="the Markdown file to write the section into (default: none)")
    parser.add_argument("--command", required=True)
    parser.add_argument("--machine", required=True)
    args = parser.parse_args()

    rows = [json.loads(line) for path in args.results for line in open(path) if line.startswith("{")]
    rows.sort(key=lambda row: (not row.get("backups", True), row["files"]))
    done = [row for row in rows if row["exact"] and row["exit"] == 0]
    shipped = any(row.get("shipped") for row in rows)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        SECTION_START,
        "## Kubernetes: the shards the test server runs",
        "",
        f"`{args.command}`, {now}, {args.machine}; Fanout built in release mode. A line count "
        "(`FanoutBench kube-linecount`) over tiny local files, one file per shard, so each shard is a pod, on the "
        "Kubernetes backend against a Kubernetes API test server of the benchmark's own (`scripts/kube-test-server`, "
        "whose kubelet runs each pod as processes of this machine: "
        + ("each pod's init container copies the executable shipped through the state folder, then the worker "
           "starts" if shipped else "the worker is the benchmark's executable, run from where it was built, with no "
           "init container copying it")
        + "). The run's state is a local temporary folder. API requests: the driver's own count, and every request "
        "the server answered during the run (the driver is its only client); memory and processes are the "
        "server's, sampled every second.",
        "",
        "| shards | backups | pods at once | wall s | shards/s | Jobs | driver API requests | server requests | exact | "
        "CPU s: driver / server / pods | server peak RSS MiB | peak pod processes |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for row in rows:
        exact = "yes" if row["exact"] and row["exit"] == 0 else f"no: {row.get('error', 'exit ' + str(row['exit']))}"
        if row["exit"] == 124 and row.get("pods_succeeded", -1) >= 0:
            exact += f" ({row['pods_succeeded']:,} pods had succeeded)"
        seconds = row.get("seconds")
        pods = f"{row['parallelism']:,}" if row.get("parallelism") else "default (a pod per shard, at most 1,000)"
        timing = f"{seconds:.1f} | {row['files'] / seconds:.1f}" if seconds else "n/a | n/a"
        cpu = " / ".join(
            f"{row[field]:.0f}" if field in row else "n/a"
            for field in ("cpu_seconds", "server_cpu_seconds", "pods_cpu_seconds"))
        lines.append(
            f"| {row['files']:,} | {'on' if row.get('backups', True) else 'off'} | {pods} | {timing} | {row.get('jobs', 0)} | {row.get('api_requests', -1)} | "
            f"{row['server_requests']:,} | {exact} | {cpu} | {row['server_peak_rss_kib'] / 1024:.0f} | "
            f"{row['peak_processes']} |")
    largest = max((row["files"] for row in done), default=0)
    lines += ["", f"Largest shard count run here, exactly, within the time limit: {largest:,}."]
    if FINDINGS.strip():
        lines += ["", FINDINGS.strip()]
    lines.append(SECTION_END)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        write_section(args.write, SECTION_START, SECTION_END, text)


if __name__ == "__main__":
    main()
