#!/usr/bin/env python3
"""The adaptive request rate against a throttling S3, side by side with plain retries, in one run.

  bench_throttle.py --bin DIR [--rate 50] [--seconds 66] [--parallelism 16] [--write docs/BENCHMARKS.md]

Starts a moto S3 server and the fault proxy in front of it (both its own, on loopback), seeds rate x seconds small
objects under one prefix, and has the proxy answer 503 SlowDown above --rate requests a second per prefix (a token
bucket holding one second's worth, scripts/test-servers/fault_proxy.py). Then `fanout run` reads every object
through the proxy with --parallelism files in flight, once with FANOUT_HTTP_RETRY_MODE=standard (plain retries:
backoff per request) and once with adaptive, each with fresh counters and a fresh throttle. For each it reports,
counted at the proxy: goodput (requests answered by moto per second of the run, as a share of the rate) and the
share of requests answered SlowDown; and from fanout's --json summary, the files that failed.
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

SECTION_START = "<!-- throttle:start -->"
SECTION_END = "<!-- throttle:end -->"
BUCKET = "fanout-bench-throttle"
PREFIX = "throttle/"


def run_mode(binary, proxy, mode, args, work):
    control(proxy, "reset", {})
    control(proxy, "throttle", {"rate": args.rate})
    env = dict(
        os.environ,
        FANOUT_HTTP_RETRY_MODE=mode,
        AWS_ENDPOINT_URL_S3=proxy,
        XDG_STATE_HOME=os.path.join(work, f"state-{mode}"),
    )
    command = [
        os.path.join(binary, "fanout"), "run", f"s3://{BUCKET}/{PREFIX}", "-j", str(args.parallelism), "--no-cache",
        "--json", "--reduce", "sum", "--", "wc", "-c", "{}",
    ]
    start = time.monotonic()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - start
    stats = control(proxy, "stats")
    summary = {}
    for line in (result.stdout + result.stderr).splitlines():
        if line.startswith("{") and '"summary"' in line:
            summary = json.loads(line)
    answered = stats["requests"] - stats["throttled"]
    row = {
        "mode": mode,
        "seconds": elapsed,
        "requests": stats["requests"],
        "throttled": stats["throttled"],
        "answered": answered,
        "goodput": answered / elapsed / args.rate,
        "slowdown_share": stats["throttled"] / max(1, stats["requests"]),
        "files": summary.get("files"),
        "done": summary.get("done"),
        "failed": summary.get("failed"),
        "exit": result.returncode,
    }
    if result.returncode != 0:
        row["error"] = result.stderr.strip().splitlines()[-3:]
    print(json.dumps(row), file=sys.stderr)
    return row


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=66, help="files = rate x seconds (default 66)")
    parser.add_argument("--parallelism", type=int, default=16)
    parser.add_argument("--write", help="Markdown file whose throttle section to replace")
    args = parser.parse_args()
    files = int(args.rate * args.seconds)
    work = tempfile.mkdtemp(prefix="fanout-bench-throttle-")
    try:
        with moto_and_proxy(work) as (endpoint, proxy):
            print(f"bench_throttle: seeding {files} objects", file=sys.stderr)
            create_bucket(endpoint, BUCKET, ((f"{PREFIX}{index:06d}", f"{index}\n".encode()) for index in range(files)))
            rows = [run_mode(args.bin, proxy, mode, args, work) for mode in ("standard", "adaptive")]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    swift_version = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    names = {"standard": "plain retries (`FANOUT_HTTP_RETRY_MODE=standard`)", "adaptive": "adaptive"}
    lines = [
        SECTION_START,
        "## S3 throttling: an adaptive request rate",
        "",
        f"`scripts/bench-throttle --rate {args.rate:g} --seconds {args.seconds:g} --parallelism {args.parallelism}`, "
        f"{now}, {os.cpu_count()} cores, {swift_version}, Python {platform.python_version()}; Fanout built in "
        f"release mode. `fanout run s3://{BUCKET}/{PREFIX} -j {args.parallelism} --reduce sum -- wc -c {{}}` over "
        f"{files:,} small objects in moto, through the fault proxy answering `503 SlowDown` above "
        f"{args.rate:g} requests a second on the prefix (a token bucket holding one second's worth); each mode with "
        "fresh counters and a fresh throttle, one after the other. Goodput is the requests the proxy let through to "
        "moto per second of the run, as a share of the rate; counts are the proxy's.",
        "",
        "| retry mode | seconds | requests | answered SlowDown | SlowDown share | goodput (% of rate) | files failed |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        failed = row["failed"] if row["exit"] == 0 else f"exit {row['exit']}: {row.get('failed')}"
        lines.append(
            f"| {names[row['mode']]} | {row['seconds']:.1f} | {row['requests']:,} | {row['throttled']:,} | "
            f"{row['slowdown_share'] * 100:.1f}% | {row['goodput'] * 100:.1f}% | {failed} |")
    plain, adaptive = rows
    lines += [
        "",
        f"The proxy lets {args.rate:g} requests a second through whoever knocks, so plain retries get about as much "
        f"done; they knock about {plain['requests'] / max(1, plain['answered']):.1f} times for every request "
        f"answered ({plain['requests']:,} requests for {plain['answered']:,}), adaptive "
        f"{adaptive['requests'] / max(1, adaptive['answered']):.2f} times ({adaptive['requests']:,}). Answered "
        f"requests are the {files:,} GETs and the listing's pages; the time of a run includes starting `fanout` "
        "and listing the prefix.",
    ]
    reached = adaptive["goodput"] >= 0.85 and adaptive["slowdown_share"] <= 0.05 and adaptive["failed"] == 0
    lines += [
        "",
        f"Goal: goodput at least 85% of the rate with at most 5% of requests answered SlowDown, no file failed: "
        f"{'reached' if reached else 'not reached'} (adaptive: {adaptive['goodput'] * 100:.1f}% and "
        f"{adaptive['slowdown_share'] * 100:.1f}%).",
        SECTION_END,
    ]
    publish(lines, args.write, SECTION_START, SECTION_END)


if __name__ == "__main__":
    main()
