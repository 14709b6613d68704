#!/usr/bin/env python3
"""An S3 endpoint that serves one bucket of synthetic keys, fast: for measuring a client over huge listings.

  synthetic_s3.py --keys 1000000 [--port-file FILE]

Bucket `synthetic` holds `data/0000000.txt` ... (`--keys` of them, in folders of 1,000: `data/000/0000000.txt`),
each 12 bytes. ListObjectsV2 pages (1,000 keys, `continuation-token`, `start-after`, `prefix`) are made on the fly
from the key's number, so a million-key listing needs no storage; GET and HEAD answer each key's bytes. Nothing is
signed or checked: it is a benchmark's fixture, never a test of S3's semantics.
"""
import argparse
import os
import http.server
import socketserver
import sys
import urllib.parse

BUCKET = "synthetic"
BODY_TEMPLATE = "line {:07d}\n"
MODIFIED = "2026-01-01T00:00:00.000Z"


class Keys:
    def __init__(self, count):
        self.count = count

    def key(self, number):
        return f"data/{number // 1000:03d}/{number:07d}.txt"

    def first_after(self, marker):
        """The number of the first key after `marker` in key order (keys sort as their numbers do)."""
        low, high = 0, self.count
        while low < high:
            middle = (low + high) // 2
            if self.key(middle) <= marker:
                low = middle + 1
            else:
                high = middle
        return low

    def number_of(self, key):
        try:
            number = int(key.rsplit("/", 1)[1].split(".")[0])
        except (IndexError, ValueError):
            return None
        return number if 0 <= number < self.count and self.key(number) == key else None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def send(self, status, body, content_type="application/xml", head=False):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", '"0123456789abcdef0123456789abcdef"')
        self.send_header("Last-Modified", "Thu, 01 Jan 2026 00:00:00 GMT")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET(head=True)

    def do_GET(self, head=False):
        split = urllib.parse.urlsplit(self.path)
        parts = split.path.lstrip("/").split("/", 1)
        query = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
        keys = self.server.keys
        if parts[0] != BUCKET:
            return self.send(404, b"<Error><Code>NoSuchBucket</Code></Error>")
        if len(parts) == 2 and parts[1]:
            number = keys.number_of(urllib.parse.unquote(parts[1]))
            if number is None:
                return self.send(404, b"<Error><Code>NoSuchKey</Code></Error>")
            return self.send(200, BODY_TEMPLATE.format(number).encode(), "text/plain", head)
        prefix = query.get("prefix", "")
        marker = query.get("continuation-token") or query.get("start-after") or ""
        start = max(keys.first_after(marker) if marker else 0, keys.first_after(prefix) if prefix > "" else 0)
        if prefix and start < keys.count and not keys.key(start).startswith(prefix):
            start = keys.count
        end = min(keys.count, start + int(query.get("max-keys", "1000")))
        items = []
        last = None
        for number in range(start, end):
            key = keys.key(number)
            if not key.startswith(prefix):
                break
            last = key
            items.append(
                f"<Contents><Key>{key}</Key><LastModified>{MODIFIED}</LastModified>"
                f"<ETag>&quot;{number:032x}&quot;</ETag><Size>{len(BODY_TEMPLATE.format(number))}</Size>"
                "<StorageClass>STANDARD</StorageClass></Contents>")
        truncated = last is not None and end < keys.count and keys.key(end).startswith(prefix)
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            f"<Name>{BUCKET}</Name><Prefix>{prefix}</Prefix><KeyCount>{len(items)}</KeyCount>"
            f"<MaxKeys>1000</MaxKeys><IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"
            + (f"<NextContinuationToken>{last}</NextContinuationToken>" if truncated else "")
            + "".join(items) + "</ListBucketResult>")
        self.send(200, body.encode())


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, required=True)
    parser.add_argument("--port-file")
    args = parser.parse_args()
    server = Server(("127.0.0.1", 0), Handler)
    server.keys = Keys(args.keys)
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as handle:
            handle.write(str(port))

        os.replace(args.port_file + ".tmp", args.port_file)
    print(port, file=sys.stderr)
    server.serve_forever()


if __name__ == "__main__":
    main()
