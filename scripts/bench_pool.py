#!/usr/bin/env python3
"""The Python side of the engine benchmark: byte counts of every file under a folder with a multiprocessing pool.

Prints one JSON line like fanout-bench-engine does."""
import json
import multiprocessing
import os
import resource
import sys
import time


def byte_count(path):
    with open(path, "rb") as handle:
        return len(handle.read())


def main():
    folder = sys.argv[1]
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else os.cpu_count()
    start = time.monotonic()
    paths = [os.path.join(root, name) for root, _, names in os.walk(folder) for name in names]
    with multiprocessing.Pool(workers) as pool:
        sizes = pool.map(byte_count, paths, chunksize=64)
    seconds = time.monotonic() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"tool": "python-pool", "files": len(sizes), "bytes": sum(sizes), "seconds": seconds,
                      "max_rss_kib": rss}))


if __name__ == "__main__":
    main()
