#!/usr/bin/env python3
"""Summarises scripts/bench-s3-wordcount's JSON lines into a table and writes it to docs/BENCHMARKS.md.

    bench_s3_wordcount.py RESULTS.jsonl --write docs/BENCHMARKS.md --command "..." --versions "..."

Checks that every run of both sides counted the words the seeding made, then reports the median of each figure.
"""
import argparse
import datetime
import json
import statistics
import sys

from bench_markdown import write_section

SECTION_START = "<!-- s3-wordcount:start -->"
SECTION_END = "<!-- s3-wordcount:end -->"
GOAL = 1.1

# What the measurements showed: kept here, so that a new run of the benchmark writes it again.
FINDINGS = """\
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("results")
    parser.add_argument("--write", default="", help="the Markdown file to write the section into (default: none)")
    parser.add_argument("--command", required=True)
    parser.add_argument("--versions", required=True)
    args = parser.parse_args()

    records = [json.loads(line) for line in open(args.results) if line.startswith("{")]
    seed = next(r for r in records if r["op"] == "seed-text")
    runs = {tool: [r for r in records if r["tool"] == tool and r["op"] == "wordcount"] for tool in ("fanout", "boto3")}
    for tool, rows in runs.items():
        if not rows:
            sys.exit(f"bench-s3-wordcount: no {tool} run")
        for row in rows:
            if row["words"] != seed["words"] or row["objects"] != seed["objects"]:
                sys.exit(
                    f"bench-s3-wordcount: {tool} counted {row['words']} words in {row['objects']} objects; "
                    f"the seeding made {seed['words']} in {seed['objects']}")

    def median(tool, field):
        return statistics.median(r[field] for r in runs[tool])

    fanout, boto3 = runs["fanout"][0], runs["boto3"][0]
    ratio = median("fanout", "seconds") / median("boto3", "seconds")
    cpu_ratio = median("fanout", "cpu_seconds") / median("boto3", "cpu_seconds")
    state = "a local temporary folder" if fanout["state"] == "local" else "the same bucket (`fanout-state/`)"
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        SECTION_START,
        "## S3 reads: a word count, Fanout in-process against boto3",
        "",
        f"`{args.command}`, {now}, {args.versions}; Fanout built in release mode. {seed['objects']:,} text "
        f"objects of 1 to 4 KiB ({seed['bytes'] / 1048576:.1f} MiB, {seed['words']:,} words) in a moto server of "
        f"the benchmark's own on loopback. Fanout: a whole run in one process (`FanoutBench wordcount`: list, "
        f"plan {fanout['shards']} shards, store the run's state in {state}, read each object and count its words "
        f"with {fanout['concurrency']} reads in flight, sum). boto3: {boto3['concurrency']} threads GETting the "
        "same keys and counting words with `bytes.split()`, after its client is made. Both totals equal the "
        f"seeded one in every run. Median of {len(runs['fanout'])} interleaved runs; CPU is the client process's "
        "user + system time (`getrusage`) over the measured part, RSS its peak.",
        "",
        "| client | wall s | client CPU s | peak RSS MiB |",
        "| --- | ---: | ---: | ---: |",
        f"| Fanout in-process (whole run) | {median('fanout', 'seconds'):.2f} | {median('fanout', 'cpu_seconds'):.2f} "
        f"| {median('fanout', 'max_rss_kib') / 1024:.0f} |",
        f"| boto3, GETs only | {median('boto3', 'seconds'):.2f} | {median('boto3', 'cpu_seconds'):.2f} "
        f"| {median('boto3', 'max_rss_kib') / 1024:.0f} |",
        "",
        f"Every run, in order (wall s): Fanout "
        + ", ".join(f"{r['seconds']:.2f}" for r in runs["fanout"])
        + "; boto3 "
        + ", ".join(f"{r['seconds']:.2f}" for r in runs["boto3"])
        + ".",
        "",
        f"Goal: Fanout's wall time at most {GOAL}x boto3's: {'reached' if ratio <= GOAL else 'not reached'} "
        f"(measured {ratio:.2f}x; client CPU {cpu_ratio:.2f}x boto3's).",
    ]
    if FINDINGS.strip():
        lines += ["", FINDINGS.strip()]
    lines.append(SECTION_END)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        write_section(args.write, SECTION_START, SECTION_END, text)


if __name__ == "__main__":
    main()
