#!/usr/bin/env python3
"""The S3 requests of whole runs against their shard count, and the delay from the last commit to the answer.

  bench_state_requests.py --bin DIR [--shards 100,1000,10000] [--workers 2] [--write docs/BENCHMARKS.md]

Starts moto and the fault proxy in front of it (its own, on loopback). For each shard count N it makes a local
folder of N one-line files and runs `fanout run DIR --state s3://BUCKET/state-N/ --backend processes
--files-per-shard 1 --reduce sum -- wc -c {}` with S3 reached through the proxy, so every request of the run's
state (the driver's and its worker processes') is counted there by kind. The delay is from the proxy's last answer
to a shard commit's PUT to the moment the run's summary reaches standard output (the aggregate is ready). Each
run's total is checked against the files' bytes.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

from bench_markdown import publish
from bench_servers import control, create_bucket, moto_and_proxy

SECTION_START = "<!-- state-requests:start -->"
SECTION_END = "<!-- state-requests:end -->"
BUCKET = "fanout-bench-state"
KINDS = ("list", "get", "head", "put", "post", "delete")


def make_input(folder, count):
    """`count` one-line files in folders of 1,000; returns their total bytes."""
    total = 0
    for index in range(count):
        path = os.path.join(folder, f"{index // 1000:03d}", f"{index:06d}.txt")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        text = f"line {index}\n"
        with open(path, "w") as handle:
            handle.write(text)
        total += len(text)
    return total


def run(binary, proxy, work, shards, workers):
    folder = os.path.join(work, f"input-{shards}")
    expected = make_input(folder, shards)
    control(proxy, "reset", {})
    env = dict(os.environ, AWS_ENDPOINT_URL_S3=proxy, XDG_STATE_HOME=os.path.join(work, f"home-{shards}"))
    command = [
        os.path.join(binary, "fanout"), "run", folder + "/", "--state", f"s3://{BUCKET}/state-{shards}/",
        "--backend", "processes", "--workers", str(workers), "--files-per-shard", "1", "--no-cache", "--json",
        "--reduce", "sum", "--", "wc", "-c", "{}",
    ]
    started = time.time()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    summary, summary_at = {}, None
    for line in process.stdout:
        if line.startswith("{") and '"summary"' in line:
            summary, summary_at = json.loads(line), time.time()
    stderr = process.stderr.read()
    process.wait()
    ended = time.time()
    stats = control(proxy, "stats")
    kinds = stats.get("by_kind", {})
    row = {
        "shards": shards,
        "seconds": ended - started,
        "requests": stats["requests"],
        **{kind: kinds.get(kind, 0) for kind in KINDS},
        "delay": None if summary_at is None or stats["last_commit_at"] is None
        else summary_at - stats["last_commit_at"],
        "exit": process.returncode,
        "result": summary.get("result"),
        "expected": expected,
        "failed": summary.get("failed"),
    }
    if process.returncode != 0:
        row["error"] = stderr.strip().splitlines()[-3:]
    print(json.dumps(row), file=sys.stderr)
    return row


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--shards", default="100,1000,10000")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--write", help="Markdown file whose state-requests section to replace")
    args = parser.parse_args()
    counts = [int(text) for text in args.shards.split(",")]
    work = tempfile.mkdtemp(prefix="fanout-bench-state-")
    try:
        with moto_and_proxy(work) as (endpoint, proxy):
            create_bucket(endpoint, BUCKET)
            rows = [run(args.bin, proxy, work, count, args.workers) for count in counts]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    swift_version = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        SECTION_START,
        "## Run state: S3 requests of whole runs",
        "",
        f"`scripts/bench-state-requests --shards {args.shards} --workers {args.workers}`, {now}, "
        f"{os.cpu_count()} cores, {swift_version}, Python {platform.python_version()}; Fanout built in release mode. "
        f"`fanout run DIR --state s3://{BUCKET}/state-N/ --backend processes --workers {args.workers} "
        "--files-per-shard 1 --reduce sum -- wc -c {}` over N one-line local files (N shards of one file), the state "
        "in moto through the fault proxy, which counts every request of the run, the driver's and its workers', by "
        "kind. The delay is from the proxy's last answer to a shard commit to the run's summary on standard output.",
        "",
        "| shards | seconds | requests | list | get | head | put | post | delete | requests per shard "
        "| delay after the last commit (s) | exact |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        exact = "yes" if row["exit"] == 0 and str(row["result"]).strip() == str(row["expected"]) else (
            f"no (exit {row['exit']}, {row['result']} for {row['expected']})")
        delay = "n/a" if row["delay"] is None else f"{row['delay']:.2f}"
        lines.append(
            f"| {row['shards']:,} | {row['seconds']:.1f} | {row['requests']:,} | "
            + " | ".join(f"{row[kind]:,}" for kind in KINDS)
            + f" | {row['requests'] / row['shards']:.2f} | {delay} | {exact} |")
    lines += [
        "",
        "What a shard costs is the same at any size: its worker makes four reads (the spec, its part's index and its "
        "line of the plan among them), lists what its shard already stored, and writes a segment and a commit; the "
        "driver checks the commit (a HEAD) when the worker exits. The plan itself is one write per 1,000 shards (`plan/part-N.jsonl`), and each of the driver's looks "
        "lists only the shards still open. The delay after the last commit is the driver's last look and its summary: "
        "a look reads new segments eight at a time, and only its listing sets the wait before the next one.",
        SECTION_END,
    ]
    publish(lines, args.write, SECTION_START, SECTION_END)


if __name__ == "__main__":
    main()
