#!/usr/bin/env python3
"""A loopback HTTP server for FanoutHTTP's tests: an ASGI app served by hypercorn on three listeners.

    plain  http://127.0.0.1:P   HTTP/1.1, and HTTP/2 cleartext with prior knowledge (h2c)
    tls    https://127.0.0.1:P  HTTP/2 or HTTP/1.1 by ALPN; a client certificate is optional
    mtls   https://127.0.0.1:P  as tls, but a client certificate signed by the test CA is required

Endpoints (any listener):
    /bytes/N                      N bytes, byte i = i % 251, sent in 64 KiB chunks with Content-Length
    /echo                         any method; JSON with method, path, query, headers, body length and SHA-256,
                                  the HTTP version and the client's address (to observe connection reuse)
    /status/N[?retry_after=V]     status N, with Retry-After: V when given
    /flaky/ID/N                   the first N requests for ID answer 503 (Retry-After: 0), then 200 "ok"
    /drip?bytes=N&delay=S         N bytes, one every S seconds
    /stall?seconds=S              headers at once, then nothing for S seconds, then the body "done"
    /slow-headers?seconds=S       nothing for S seconds, then 200 "ok"

Started by scripts/test-servers/start, which reads the ports from --port-file (JSON, written once all three
listeners are bound). Stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import os
import signal
import socket
import ssl
import sys
from collections import defaultdict
from urllib.parse import parse_qs

from hypercorn.asyncio import serve
from hypercorn.config import Config

CHUNK = 64 * 1024
PERIOD = 251
# Any chunk of the pattern is a slice of this, starting at (offset % PERIOD).
PATTERN = bytes(i % PERIOD for i in range(CHUNK + PERIOD))

flaky_counts: defaultdict[str, int] = defaultdict(int)


# MARK: - Helpers


def query_of(scope) -> dict[str, str]:
    raw = scope.get("query_string", b"").decode("latin-1")
    return {name: values[-1] for name, values in parse_qs(raw, keep_blank_values=True).items()}


def number(query: dict[str, str], name: str, default: float) -> float:
    try:
        return float(query.get(name, default))
    except ValueError:
        return default


async def start(send, status: int, headers: list[tuple[str, str]] = ()) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers],
        }
    )


async def body(send, data: bytes, more: bool = False) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": more})


async def reply(send, status: int, data: bytes, content_type: str = "text/plain", extra=()) -> None:
    await start(send, status, [("content-type", content_type), ("content-length", str(len(data))), *extra])
    await body(send, data)


async def drain_request(receive) -> tuple[int, str]:
    """Reads the request body to its end; returns its length and SHA-256 (hex)."""
    digest = hashlib.sha256()
    length = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionAbortedError("client went away")
        chunk = message.get("body", b"")
        digest.update(chunk)
        length += len(chunk)
        if not message.get("more_body", False):
            return length, digest.hexdigest()


async def sleep_unless_disconnected(receive, seconds: float) -> bool:
    """Sleeps, returning early (False) if the client disconnects. Call after the request body was read."""
    try:
        message = await asyncio.wait_for(receive(), timeout=seconds)
    except asyncio.TimeoutError:
        return True
    return message["type"] != "http.disconnect"


# MARK: - Endpoints


async def bytes_endpoint(scope, receive, send, count: int) -> None:
    await start(send, 200, [("content-type", "application/octet-stream"), ("content-length", str(count))])
    offset = 0
    while offset < count:
        size = min(CHUNK, count - offset)
        start_at = offset % PERIOD
        offset += size
        await body(send, PATTERN[start_at : start_at + size], more=offset < count)
    if count == 0:
        await body(send, b"")


async def echo(scope, receive, send) -> None:
    length, sha256 = await drain_request(receive)
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    client = scope.get("client") or ("", 0)
    document = {
        "method": scope["method"],
        "path": scope["path"],
        "query": scope.get("query_string", b"").decode("latin-1"),
        "headers": headers,
        "body_length": length,
        "body_sha256": sha256,
        "http_version": scope.get("http_version", ""),
        "scheme": scope.get("scheme", ""),
        "client": f"{client[0]}:{client[1]}",
    }
    await reply(send, 200, json.dumps(document).encode(), "application/json")


async def status_endpoint(scope, receive, send, status: int) -> None:
    await drain_request(receive)
    query = query_of(scope)
    extra = [("retry-after", query["retry_after"])] if "retry_after" in query else []
    data = b"" if scope["method"] == "HEAD" or status in (204, 304) else f"status {status}\n".encode()
    await reply(send, status, data, extra=extra)


async def flaky(scope, receive, send, key: str, failures: int) -> None:
    await drain_request(receive)
    flaky_counts[key] += 1
    if flaky_counts[key] <= failures:
        await reply(send, 503, b"try again\n", extra=[("retry-after", "0")])
    else:
        await reply(send, 200, b"ok")


async def drip(scope, receive, send) -> None:
    await drain_request(receive)
    query = query_of(scope)
    count = int(number(query, "bytes", 10))
    delay = number(query, "delay", 0.1)
    await start(send, 200, [("content-type", "application/octet-stream"), ("content-length", str(count))])
    for index in range(count):
        if not await sleep_unless_disconnected(receive, delay):
            return
        await body(send, bytes([index % PERIOD]), more=index + 1 < count)
    if count == 0:
        await body(send, b"")


async def stall(scope, receive, send) -> None:
    await drain_request(receive)
    seconds = number(query_of(scope), "seconds", 30)
    await start(send, 200, [("content-type", "text/plain"), ("content-length", "4")])
    await body(send, b"", more=True)
    if await sleep_unless_disconnected(receive, seconds):
        await body(send, b"done")


async def slow_headers(scope, receive, send) -> None:
    await drain_request(receive)
    seconds = number(query_of(scope), "seconds", 30)
    if await sleep_unless_disconnected(receive, seconds):
        await reply(send, 200, b"ok")


async def app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    parts = [part for part in scope["path"].split("/") if part]
    try:
        match parts:
            case ["bytes", count] if count.isdigit():
                await bytes_endpoint(scope, receive, send, int(count))
            case ["echo", *_]:
                await echo(scope, receive, send)
            case ["status", status] if status.isdigit() and 100 <= int(status) <= 599:
                await status_endpoint(scope, receive, send, int(status))
            case ["flaky", key, failures] if failures.isdigit():
                await flaky(scope, receive, send, key, int(failures))
            case ["drip"]:
                await drip(scope, receive, send)
            case ["stall"]:
                await stall(scope, receive, send)
            case ["slow-headers"]:
                await slow_headers(scope, receive, send)
            case _:
                await drain_request(receive)
                await reply(send, 404, f"no endpoint {scope['path']}\n".encode())
    except ConnectionAbortedError:
        pass


# MARK: - Serving


def bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def config_for(sock: socket.socket, tls_dir: str | None, verify_mode: ssl.VerifyMode | None) -> Config:
    config = Config()
    # hypercorn adopts the already bound socket, so the port is known before it starts.
    config.bind = [f"fd://{sock.detach()}"]
    config.graceful_timeout = 0.5
    config.keep_alive_timeout = 30
    config.accesslog = None
    config.errorlog = "-"
    config.loglevel = "WARNING"
    if tls_dir is not None:
        config.certfile = os.path.join(tls_dir, "server.pem")
        config.keyfile = os.path.join(tls_dir, "server-key.pem")
        config.ca_certs = os.path.join(tls_dir, "ca.pem")
        config.verify_mode = verify_mode
    return config


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tls-dir", required=True, help="holds ca.pem, server.pem and server-key.pem")
    parser.add_argument("--port-file", required=True, help="where to write the ports, as JSON")
    arguments = parser.parse_args()
    # Tests abort downloads on purpose; asyncio would log every write that follows to the closed socket.
    logging.getLogger("asyncio").setLevel(logging.ERROR)

    sockets = {name: bound_socket() for name in ("http", "https", "mtls")}
    ports = {name: sock.getsockname()[1] for name, sock in sockets.items()}
    configs = [
        config_for(sockets["http"], None, None),
        config_for(sockets["https"], arguments.tls_dir, ssl.CERT_OPTIONAL),
        config_for(sockets["mtls"], arguments.tls_dir, ssl.CERT_REQUIRED),
    ]

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    servers = [asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait)) for config in configs]

    temporary = arguments.port_file + ".tmp"
    with open(temporary, "w") as file:
        json.dump(ports, file)
    os.replace(temporary, arguments.port_file)
    print(f"httpbin: listening on {ports}", file=sys.stderr, flush=True)

    done, _ = await asyncio.wait(servers, return_when=asyncio.FIRST_COMPLETED)
    stop.set()
    await asyncio.gather(*servers, return_exceptions=True)
    for task in done:
        if task.exception() is not None:
            raise task.exception()


if __name__ == "__main__":
    asyncio.run(main())
