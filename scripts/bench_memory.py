#!/usr/bin/env python3
"""The driver's peak memory over a million files: a whole run on the local store, and a million-key S3 listing.

  bench_memory.py --bin DIR [--files 1000000] [--folder /dev/shm/fanout-bench-memory] [--write docs/BENCHMARKS.md]

Makes --files one-line files in folders of 1,000 under --folder (a tmpfs by default; kept between runs, with the
count in FOLDER.count beside it, and remade when the count differs), then measures `fanout-bench-engine FOLDER in-process 2`: list, plan, store, run a byte
count on every file and sum it, reporting the process's peak RSS (getrusage). Then it starts
scripts/synthetic_s3.py, an S3 endpoint that makes ListObjectsV2 pages of --files keys on the fly, and measures
`fanout-bench-engine s3://synthetic/data/ plan`: list the prefix, plan and store the run (state in a local
temporary folder), without running it.
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

SECTION_START = "<!-- memory:start -->"
SECTION_END = "<!-- memory:end -->"
HERE = os.path.dirname(os.path.abspath(__file__))


def make_corpus(folder, count):
    marker = folder.rstrip("/") + ".count"
    if os.path.exists(marker) and open(marker).read().strip() == str(count):
        return
    shutil.rmtree(folder, ignore_errors=True)
    print(f"bench_memory: making {count:,} files in {folder}", file=sys.stderr)
    for index in range(count):
        if index % 1000 == 0:
            os.makedirs(os.path.join(folder, f"{index // 1000:04d}"))
        with open(os.path.join(folder, f"{index // 1000:04d}", f"{index:07d}.txt"), "w") as handle:
            handle.write(f"line {index}\n")
    with open(marker, "w") as handle:
        handle.write(str(count))


def measure(binary, arguments, env=None):
    result = subprocess.run(
        [os.path.join(binary, "fanout-bench-engine"), *arguments], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise SystemExit(f"bench_memory: {' '.join(arguments)} failed: {result.stderr.strip()[-2000:]}")
    row = json.loads(result.stdout.strip().splitlines()[-1])
    print(json.dumps(row), file=sys.stderr)
    return row


def synthetic_listing(binary, count, work):
    port_file = os.path.join(work, "s3.port")
    server = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "synthetic_s3.py"), "--keys", str(count), "--port-file", port_file],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.exists(port_file):
                break
            time.sleep(0.1)
        endpoint = f"http://127.0.0.1:{open(port_file).read().strip()}"
        env = dict(
            os.environ, AWS_ENDPOINT_URL_S3=endpoint, AWS_ACCESS_KEY_ID="synthetic", AWS_SECRET_ACCESS_KEY="synthetic",
            AWS_REGION="us-east-1")
        env.pop("AWS_PROFILE", None)
        return measure(binary, ["s3://synthetic/data/", "plan"], env)
    finally:
        server.kill()
        server.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--files", type=int, default=1_000_000)
    parser.add_argument("--folder", default="/dev/shm/fanout-bench-memory")
    parser.add_argument("--write")
    args = parser.parse_args()
    make_corpus(args.folder, args.files)
    local = measure(args.bin, [args.folder + "/", "in-process", "2"])
    work = tempfile.mkdtemp(prefix="fanout-bench-memory-")
    try:
        listing = synthetic_listing(args.bin, args.files, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for row in (local, listing):
        if row["files"] != args.files:
            raise SystemExit(f"bench_memory: {row['tool']} saw {row['files']} files, not {args.files}")

    swift_version = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    mib = lambda row: row["max_rss_kib"] / 1024
    lines = [
        SECTION_START,
        "## Driver memory over a million files",
        "",
        f"`scripts/bench-memory --files {args.files}`, {now}, {os.cpu_count()} cores, {swift_version}, "
        f"Python {platform.python_version()}; release build. Peak RSS of the driver's process (getrusage).",
        "",
        "| what | files | seconds | peak RSS (MiB) | goal |",
        "| --- | ---: | ---: | ---: | --- |",
        f"| a whole run in process on a tmpfs folder (list, plan, store, byte count of every file, sum) "
        f"| {local['files']:,} | {local['seconds']:.1f} | {mib(local):.0f} | under 100 MiB: "
        f"{'reached' if mib(local) < 100 else 'not reached'} |",
        f"| list an S3 prefix of {args.files:,} keys, plan and store the run (`scripts/synthetic_s3.py`, pages made "
        f"on the fly) | {listing['files']:,} | {listing['seconds']:.1f} | {mib(listing):.0f} | under 100 MiB: "
        f"{'reached' if mib(listing) < 100 else 'not reached'} |",
        "",
        "A listing is kept in an unnamed temporary file as it arrives (`ListedFiles`), with only each file's size in "
        "memory; the planner works on sizes alone (`Planner.assign`, 4 bytes a file for the shard of each), and each "
        "part of the plan is written to a temporary file in passes over the listing of at most 65,536 files, then "
        "uploaded from it. The driver tracks files by one bit each (`OrdinalSet`).",
        SECTION_END,
    ]
    publish(lines, args.write, SECTION_START, SECTION_END)


if __name__ == "__main__":
    main()
