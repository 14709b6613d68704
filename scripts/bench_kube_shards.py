#!/usr/bin/env python3
"""Summarises scripts/bench-kube-shards's JSON lines into a table and writes it to docs/BENCHMARKS.md.

    bench_kube_shards.py RESULTS.jsonl [MORE.jsonl] --write docs/BENCHMARKS.md --command "..." --machine "..."
"""
import argparse
import datetime
import json

from bench_markdown import publish

SECTION_START = "<!-- kube-shards:start -->"
SECTION_END = "<!-- kube-shards:end -->"

# What the measurements showed: kept here, so that a new run of the benchmark writes it again.
FINDINGS = """\
What limits the test server here (measured 2026-12-06): the machine's two cores, and the server's job controller,
whose cost per pod grows with the pods it keeps. Without backups, per shard, the pods' processes took 31 to 32 ms
of CPU at every count (a Swift worker process starting, reading its plan, storing its segment and commit), while
the server took 13 ms at 100 shards, 15 ms at 1,000 and 30 ms at 3,000: with the driver's, 1.4 to 1.6 of the 2
cores, and the rate fell from 33 to 19 shards a second. A `py-spy` profile of the server during
the 10,000-shard run put 43% of its samples in the job controller's loop, 39% in `Store.list` (each sync of a Job
sorts every pod in the store and deep-copies the Job's), 24% in the kubelet's pod threads and 14% in serving the
API; the server keeps every finished pod (the Jobs are kept an hour), so each sync costs more as the run goes, and
its memory grows by 30 to 50 KB a pod (the peaks above are of one server across each series). Only 5 to 25
pod processes were alive at any moment: the server starts them no faster than that, so the 100 pods at once of the
Jobs' parallelism were never reached, and memory is no limit (23 GiB). The largest count run here is thus set by
time: in the 10,000-shard run, which followed 4,100 pods of the smaller counts on the same server, 6,786 pods had
succeeded when the 600 s limit came (11 a second, the server using 0.56 of a core); 6,000 shards alone, on a
fresh server, ran exactly in 410 s (15 a second, 40 ms of the server's CPU a pod), the largest count run here.
The driver's own CPU grows with the count too (4, 5, 8 and 14 ms a shard at 100, 1,000, 3,000 and 6,000 shards).

With backups on (the default), the same runs start backup attempts: on a saturated machine a pod's time varies
far more than the sub-second median shard time, so many shards look overdue. At 3,000 shards 194 backup Jobs ran
472 backup attempts (16% more pods); each costs a Job create and a few requests, which is all of the growth in
the Jobs and API request columns. Without backups a run is one Indexed Job and 6 API requests by the driver's count
whatever its shard count (7 at the server: the namespace checked, the run's Jobs listed, the Job created, a list
and a watch each of Jobs and pods; a few more in the 410 s run: 8 and 10), as goal 6 asks.

How the counts above these were checked: `KubernetesManifestTests.aQuarterMillionShardsBecomeJobsTheAPIServerAccepts`
turns a plan of 250,001 shards into three Indexed Jobs (100,000, 100,000 and 50,001 completions) and creates each
on the test server with `dryRun=All`, one request a Job; the server applies the Job API's cross-field rules
(parallelism at most 100,000; above 100,000 completions with `backoffLimitPerIndex`, `maxFailedIndexes` required
and both at most 10,000; `<job-name>-<completions-1>` a valid label) and accepts them, and refuses a Job of
100,001 completions without `maxFailedIndexes`. No pod runs in that test.
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
        "| shards | backups | pods at once | wall s | shards/s | Jobs | driver API requests | server requests "
        "| exact | "
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
        # A run killed at the time limit reported nothing itself: its Jobs are the server's count.
        jobs = row.get("jobs", row.get("server_jobs_created", 0))
        requests = row["api_requests"] if row.get("api_requests", -1) >= 0 else "n/a"
        backups = "on" if row.get("backups", True) else "off"
        lines.append(
            f"| {row['files']:,} | {backups} | {pods} | {timing} | {jobs} | {requests} | {row['server_requests']:,} |"
            f" {exact} | {cpu} | {row['server_peak_rss_kib'] / 1024:.0f} | "
            f"{row['peak_processes']} |")
    largest = max((row["files"] for row in done), default=0)
    lines += ["", f"Largest shard count run here, exactly, within the time limit: {largest:,}."]
    if FINDINGS.strip():
        lines += ["", FINDINGS.strip()]
    lines.append(SECTION_END)
    publish(lines, args.write, SECTION_START, SECTION_END)


if __name__ == "__main__":
    main()
