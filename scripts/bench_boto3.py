#!/usr/bin/env python3
"""The boto3 side of the S3 client benchmark: the same operations our client runs, against the same server.

    bench_boto3.py --endpoint URL --bucket B --prefix P seed --count 100000
    bench_boto3.py --endpoint URL --bucket B --prefix P list
    bench_boto3.py --endpoint URL --bucket B --prefix P putget --count 2000 --concurrency 16 --size 1024
    bench_boto3.py --endpoint URL --bucket B --prefix P seed-text --count 2000
    bench_boto3.py --endpoint URL --bucket B --prefix P wordcount --count 2000 --concurrency 16

Each measured phase prints one JSON line, e.g.
    {"tool":"boto3","op":"list","keys":100000,"seconds":4.2,"max_rss_kib":61234}
Credentials and region come from the usual AWS variables, defaulting to moto's "testing" and us-east-1.
Checksums are computed only where S3 requires them (boto3's behaviour before 1.36), unless --checksums is given.
"""

import argparse
import concurrent.futures
import json
import os
import random
import resource
import sys
import time

try:
    import boto3
    import botocore.config
    import botocore.exceptions
except ImportError:
    sys.exit("bench_boto3.py needs boto3: run scripts/setup (it installs moto[server], which brings boto3)")


def max_rss_kib():
    # On Linux ru_maxrss is already in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def report(op, seconds, **fields):
    line = {"tool": "boto3", "op": op, **fields, "seconds": round(seconds, 4), "max_rss_kib": max_rss_kib()}
    print(json.dumps(line, separators=(",", ":")), flush=True)


def make_client(args, pool_size):
    config = botocore.config.Config(
        max_pool_connections=pool_size,
        retries={"mode": "standard", "total_max_attempts": 3},
        s3={"addressing_style": "path"},
        request_checksum_calculation="when_supported" if args.checksums else "when_required",
        response_checksum_validation="when_supported" if args.checksums else "when_required",
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=args.endpoint,
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        config=config,
    )


def ensure_bucket(client, bucket):
    try:
        client.head_bucket(Bucket=bucket)
    except botocore.exceptions.ClientError:
        client.create_bucket(Bucket=bucket)


def key_name(prefix, index):
    return f"{prefix}{index:08d}"


def run_parallel(concurrency, function, items):
    """Runs function over items with `concurrency` in flight; the first failure is raised."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
        for _ in pool.map(function, items):
            pass


def seed(args):
    client = make_client(args, args.concurrency)
    ensure_bucket(client, args.bucket)
    body = b"x" * args.size

    def put(index):
        client.put_object(Bucket=args.bucket, Key=key_name(args.prefix, index), Body=body)

    start = time.perf_counter()
    run_parallel(args.concurrency, put, range(args.count))
    report("seed", time.perf_counter() - start, keys=args.count)


def list_keys(args):
    client = make_client(args, 1)
    paginator = client.get_paginator("list_objects_v2")
    start = time.perf_counter()
    keys = 0
    for page in paginator.paginate(Bucket=args.bucket, Prefix=args.prefix):
        keys += len(page.get("Contents", ()))
    report("list", time.perf_counter() - start, keys=keys)


def putget(args):
    client = make_client(args, args.concurrency)
    ensure_bucket(client, args.bucket)
    body = os.urandom(args.size)
    total_bytes = args.count * args.size

    def put(index):
        client.put_object(Bucket=args.bucket, Key=key_name(args.prefix, index), Body=body)

    def get(index):
        data = client.get_object(Bucket=args.bucket, Key=key_name(args.prefix, index))["Body"].read()
        if len(data) != args.size:
            raise RuntimeError(f"GET {key_name(args.prefix, index)} returned {len(data)} bytes, expected {args.size}")

    for op, function in (("put", put), ("get", get)):
        start = time.perf_counter()
        run_parallel(args.concurrency, function, range(args.count))
        seconds = time.perf_counter() - start
        report(
            op,
            seconds,
            objects=args.count,
            bytes=total_bytes,
            concurrency=args.concurrency,
            objects_per_second=round(args.count / seconds, 1),
        )


WORDS = (
    "the of and to in is was that for on with as by at from his her an be this which or had not are but have one "
    "fanout shard object bucket prefix river stone market winter garden letter engine window"
).split()


def text_object(index, size):
    """About `size` bytes of words, lines of up to 80 characters; the same for the same index on every run."""
    chooser = random.Random(index)
    lines, line, length, line_length = [], [], 0, 0
    while length < size:
        word = chooser.choice(WORDS)
        line.append(word)
        length += len(word) + 1
        line_length += len(word) + 1
        if line_length > 80:
            lines.append(" ".join(line))
            line, line_length = [], 0
    lines.append(" ".join(line))
    return ("\n".join(lines) + "\n").encode()


def seed_text(args):
    """COUNT text objects of 1 to 4 KiB under the prefix; prints their total words, as `wordcount` counts them."""
    client = make_client(args, args.concurrency)
    ensure_bucket(client, args.bucket)
    sizes = random.Random(0)
    bodies = [text_object(index, sizes.randint(1024, 4096)) for index in range(args.count)]

    def put(index):
        client.put_object(Bucket=args.bucket, Key=key_name(args.prefix, index), Body=bodies[index])

    start = time.perf_counter()
    run_parallel(args.concurrency, put, range(args.count))
    words = sum(len(body.split()) for body in bodies)
    report("seed-text", time.perf_counter() - start, objects=args.count, words=words,
           bytes=sum(len(body) for body in bodies))


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def wordcount(args):
    """GETs COUNT objects under the prefix with `concurrency` threads, counts their words and sums them; the
    time and CPU are those of the GETs and the counting, after the client is made (as Fanout's figure starts
    after its process has started)."""
    client = make_client(args, args.concurrency)

    def count(index):
        return len(client.get_object(Bucket=args.bucket, Key=key_name(args.prefix, index))["Body"].read().split())

    cpu_before = cpu_seconds()
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        words = sum(pool.map(count, range(args.count)))
    seconds = time.perf_counter() - start
    report("wordcount", seconds, objects=args.count, words=words, concurrency=args.concurrency,
           cpu_seconds=round(cpu_seconds() - cpu_before, 3))


def positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main():
    parser = argparse.ArgumentParser(description="boto3 side of the Fanout S3 benchmark.")
    parser.add_argument("--endpoint", required=True, help="S3 endpoint URL, e.g. http://127.0.0.1:5000")
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--prefix", default="", help="key prefix (default: none)")
    parser.add_argument("--checksums", action="store_true", help="let boto3 compute and check CRC checksums")
    commands = parser.add_subparsers(dest="command", required=True)

    list_parser = commands.add_parser("list", help="list every key under the prefix")
    list_parser.set_defaults(run=list_keys)

    putget_parser = commands.add_parser("putget", help="PUT then GET many small objects in parallel")
    putget_parser.add_argument("--count", type=positive, default=2000, help="objects (default 2000)")
    putget_parser.add_argument("--concurrency", type=positive, default=16, help="requests in flight (default 16)")
    putget_parser.add_argument("--size", type=int, default=1024, help="bytes per object (default 1024)")
    putget_parser.set_defaults(run=putget)

    seed_text_parser = commands.add_parser("seed-text", help="create COUNT text objects of 1 to 4 KiB")
    seed_text_parser.add_argument("--count", type=positive, default=2000, help="objects (default 2000)")
    seed_text_parser.add_argument("--concurrency", type=positive, default=16, help="requests in flight (default 16)")
    seed_text_parser.set_defaults(run=seed_text)

    wordcount_parser = commands.add_parser("wordcount", help="GET COUNT objects in parallel and count their words")
    wordcount_parser.add_argument("--count", type=positive, default=2000, help="objects (default 2000)")
    wordcount_parser.add_argument("--concurrency", type=positive, default=16, help="requests in flight (default 16)")
    wordcount_parser.set_defaults(run=wordcount)

    seed_parser = commands.add_parser("seed", help="create COUNT small keys under the prefix, for `list`")
    seed_parser.add_argument("--count", type=positive, default=100000, help="keys (default 100000)")
    seed_parser.add_argument("--concurrency", type=positive, default=16, help="requests in flight (default 16)")
    seed_parser.add_argument("--size", type=int, default=1, help="bytes per object (default 1)")
    seed_parser.set_defaults(run=seed)

    args = parser.parse_args()
    if getattr(args, "size", 0) < 0:
        parser.error("--size must not be negative")
    args.run(args)


if __name__ == "__main__":
    main()
