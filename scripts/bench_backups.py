#!/usr/bin/env python3
"""Backup attempts against a straggler, side by side in one run.

  bench_backups.py --bin DIR [--runs N] [--write docs/BENCHMARKS.md]

Pinned: 160 files in 16 shards of 10 files, on the processes backend with 4 workers and one file in flight in
each (4 slots). A file's command sleeps 50 ms, so a shard takes about 0.5 s; in the straggler cases the first
attempt of shard 3 sleeps 500 ms a file (10x slower), as on a slow machine. Each case runs --runs times; the
median wall time is reported.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from bench_markdown import publish

SECTION_START = "<!-- backups:start -->"
SECTION_END = "<!-- backups:end -->"

# A worker's variables reach the commands it runs: the first attempt of shard 3 is slow.
SLOW_FIRST_ATTEMPT = (
    'case "$FANOUT_WORKER_ATTEMPT:$FANOUT_WORKER_SHARD" in 1:3) sleep 0.5;; *) sleep 0.05;; esac; echo 1'
)
NO_STRAGGLER = "sleep 0.05; echo 1"


def run_case(binary, corpus, state, script, extra):
    env = dict(os.environ, XDG_STATE_HOME=state)
    command = [
        os.path.join(binary, "fanout"), "run", corpus, "--backend", "processes", "--workers", "4", "-j", "1",
        "--files-per-shard", "10", "--no-cache", "--reduce", "sum", "-q", *extra, "--", "sh", "-c", script,
    ]
    start = time.monotonic()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - start
    if result.returncode != 0 or result.stdout.strip() != "160":
        raise SystemExit(f"bench_backups: {' '.join(extra) or 'run'} failed: {result.stdout}{result.stderr}")
    return elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write", help="Markdown file whose backups section to replace")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="fanout-bench-backups-")
    try:
        corpus = os.path.join(work, "corpus")
        os.makedirs(corpus)
        for index in range(160):
            with open(os.path.join(corpus, f"f{index:03d}.txt"), "w") as handle:
                handle.write(f"{index}\n")
        cases = [
            ("no straggler", NO_STRAGGLER, []),
            ("one straggler, --no-backups", SLOW_FIRST_ATTEMPT, ["--no-backups"]),
            ("one straggler, backups (default)", SLOW_FIRST_ATTEMPT, []),
        ]
        times = {name: [] for name, _, _ in cases}
        # Interleaved, so a slow moment of the machine touches every case alike.
        for _ in range(args.runs):
            for name, script, extra in cases:
                times[name].append(run_case(args.bin, corpus, os.path.join(work, "state"), script, extra))
        medians = {name: statistics.median(values) for name, values in times.items()}
        base = medians["no straggler"]
        lines = [
            SECTION_START,
            "## Scheduler: backup attempts for a straggler",
            "",
            f"`scripts/bench-backups` ({args.runs} runs each, interleaved; median wall time). 160 files in 16 shards "
            "of 10 on the processes backend with 4 workers, one file in flight each; a file sleeps 50 ms; in the "
            "straggler cases the first attempt of shard 3 sleeps 500 ms a file (10x slower).",
            "",
            "| case | seconds | vs no straggler |",
            "| --- | ---: | ---: |",
        ]
        for name, _, _ in cases:
            lines.append(f"| {name} | {medians[name]:.2f} | {medians[name] / base:.2f}x |")
        lines += [
            "",
            f"Goal: with backups at most 1.3x the no-straggler time; measured "
            f"{medians['one straggler, backups (default)'] / base:.2f}x. Once three shards have finished, the straggler "
            "is overdue (over twice the median shard time, nothing or little of it stored) and its projected "
            "finish is later than the waiting shards would take, so its backup starts before them; the first "
            "attempt is stopped when the backup commits.",
            SECTION_END,
        ]
        publish(lines, args.write, SECTION_START, SECTION_END)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
