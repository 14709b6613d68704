#!/usr/bin/env python3
"""A reverse proxy for tests that fails on purpose, on request.

    fault_proxy.py --listen 127.0.0.1:0 --upstream http://127.0.0.1:PORT --port-file FILE

Every request is forwarded to the upstream and its response relayed, unless a fault is queued. Tests queue
faults through a control API on the same port:

    POST /__fault/plan    {"faults": [{"kind": ...}, ...]}   append faults; each proxied request takes the next one
    POST /__fault/throttle {"rate": 50, "burst": 50}         answer 503 SlowDown above `rate` requests a second
    POST /__fault/throttle {"rate": null}                    stop throttling
    GET  /__fault/stats   {"requests": n, "faults_served": n, "pending": n, "throttled": n,
                           "by_kind": {"list": n, "get": n, ...}, "last_commit_at": unix seconds or null}
    POST /__fault/reset   empty the queue, stop throttling and zero the counters

"by_kind" counts proxied requests by what they do to S3 (list, get, head, put, post, delete); "last_commit_at"
is when the upstream last answered a PUT of a Fanout shard commit (a key with `/commits/` in it).

Fault kinds:

    {"kind": "status", "status": 503, "code": "SlowDown", "retry_after": 1, "message": "..."}
        Answer with an S3-style XML error and do not forward. `code` and `message` have defaults per status;
        `Retry-After` is sent only when `retry_after` is given. The connection stays open.
    {"kind": "drop"}                      Read the request, then close the socket without answering.
    {"kind": "drop", "after_upstream": true}
        Forward the request first, then close without answering: the upstream applied it, the client never hears.
    {"kind": "stall", "seconds": 5}       Forward, send the upstream's status line and headers, then nothing for
                                          `seconds`, then close.
    {"kind": "stall", "seconds": 5, "after_bytes": 300}
                                          The same, but the first 300 bytes of the body are sent before the stall.
    {"kind": "stall_before_headers", "seconds": 5}
                                          Read the request, send nothing for `seconds`, then close.
    {"kind": "reset"}                     Read the request, then reset the connection (TCP RST, no answer).

Any fault may carry "for_seconds": it then stays at the head of the queue and every proxied request suffers it
until that many seconds have passed since the first one did (an outage of a given length, say 3 s of 503s);
"for_seconds": -1 keeps it for ever (until reset). Stats count each request it hits as a fault served.

Throttling, as S3 does per prefix: each prefix (a request's path without its query and last segment: the
object's folder; the bucket for an object at the bucket's top and for requests on the bucket itself, listings
included) has a token bucket that fills at `rate` tokens a second and holds at most `burst` (default `rate`: one
second's worth). A proxied request that finds a token takes it and goes on; one that finds none is answered
`503 SlowDown` with S3's XML error body and counted in "throttled". Throttled requests take no token, so a client
that keeps retrying gets exactly `rate` requests a second through. Queued faults come before throttling: a request
that takes a fault takes no token.

The chosen port is written to --port-file once the socket is listening. Standard library only.
"""

import argparse
import collections
import http.client
import http.server
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse
from xml.sax.saxutils import escape

CONTROL_PREFIX = "/__fault/"

# Headers that describe one hop, not the message; never forwarded in either direction.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}

# Defaults for "status" faults that do not name an error code or message.
DEFAULT_ERRORS = {
    429: ("SlowDown", "Please reduce your request rate."),
    500: ("InternalError", "We encountered an internal error. Please try again."),
    502: ("BadGateway", "The upstream server returned an invalid response."),
    503: ("SlowDown", "Please reduce your request rate."),
    504: ("GatewayTimeout", "The upstream server did not answer in time."),
}
KNOWN_MESSAGES = {code: message for code, message in DEFAULT_ERRORS.values()}
KNOWN_MESSAGES["ServiceUnavailable"] = "Please reduce your request rate."

# The answer to a request above the throttle's rate: what S3 sends.
THROTTLED = {"status": 503, "code": "SlowDown", "message": "Please reduce your request rate."}

FAULT_KINDS = {"status", "drop", "stall", "stall_before_headers", "reset"}

# Connection errors that only mean the other side went away; never worth a traceback.
DISCONNECTS = (ConnectionError, TimeoutError, socket.timeout)


class BadRequest(Exception):
    """The client sent something we cannot forward; answered with 400."""


def log(message):
    print(f"{time.strftime('%H:%M:%S')} fault_proxy: {message}", file=sys.stderr, flush=True)


def validate_fault(fault):
    """Returns the fault with defaults filled in, or raises ValueError saying what is wrong."""
    if not isinstance(fault, dict):
        raise ValueError("each fault must be a JSON object")
    kind = fault.get("kind")
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
    fault = dict(fault)
    if kind == "status":
        status = fault.get("status", 503)
        if not isinstance(status, int) or not 400 <= status <= 599:
            raise ValueError("status must be an integer from 400 to 599")
        default_code, default_message = DEFAULT_ERRORS.get(status, ("InternalError", "Injected fault."))
        code = fault.get("code", default_code)
        fault["status"] = status
        fault["code"] = code
        fault.setdefault("message", KNOWN_MESSAGES.get(code, default_message))
        retry_after = fault.get("retry_after")
        if retry_after is not None and (not isinstance(retry_after, (int, float)) or retry_after < 0):
            raise ValueError("retry_after must be a non-negative number")
    if kind in ("stall", "stall_before_headers"):
        seconds = fault.get("seconds")
        if not isinstance(seconds, (int, float)) or seconds < 0:
            raise ValueError(f"{kind} needs a non-negative number of seconds")
    after_bytes = fault.get("after_bytes", 0)
    if not isinstance(after_bytes, int) or after_bytes < 0:
        raise ValueError("after_bytes must be a non-negative integer")
    window = fault.get("for_seconds")
    if window is not None and (not isinstance(window, (int, float)) or (window < 0 and window != -1)):
        raise ValueError("for_seconds must be a non-negative number of seconds, or -1 for ever")
    return fault


def prefix_of(path):
    """The prefix S3 throttles a request under: its path without the query and the last segment."""
    path = urllib.parse.urlsplit(path).path
    segments = [segment for segment in path.split("/") if segment]
    return "/" + "/".join(segments[:-1] if len(segments) > 1 else segments)


def request_kind(method, path):
    """What a request does to S3, for the counters: a GET on a bucket (or with `list-type`) lists."""
    split = urllib.parse.urlsplit(path)
    segments = [segment for segment in split.path.split("/") if segment]
    if method == "GET" and (len(segments) <= 1 or "list-type=" in split.query):
        return "list"
    return method.lower()


class Throttle:
    """Token buckets, one per prefix, that fill at `rate` a second and hold at most `burst`. Not thread-safe: the
    plan's lock guards it. `clock` is injectable for tests."""

    def __init__(self, rate, burst=None, clock=time.monotonic):
        if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not rate > 0:
            raise ValueError("rate must be a positive number of requests a second")
        burst = rate if burst is None else burst
        if not isinstance(burst, (int, float)) or isinstance(burst, bool) or not burst >= 1:
            raise ValueError("burst must be a number of requests, at least 1")
        self.rate = float(rate)
        self.burst = float(burst)
        self._clock = clock
        self._buckets = {}  # prefix -> (tokens, time of the last refill)

    def admit(self, prefix):
        """True when a request under `prefix` may go on (it takes a token), False when it is to be throttled."""
        now = self._clock()
        tokens, last = self._buckets.get(prefix, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        admitted = tokens >= 1
        self._buckets[prefix] = (tokens - 1 if admitted else tokens, now)
        return admitted


class FaultPlan:
    """The queue of faults, the throttle and the counters, shared by all connection threads."""

    def __init__(self):
        self._lock = threading.Lock()
        self._faults = collections.deque()
        self._requests = 0
        self._served = 0
        self._throttle = None
        self._throttled = 0
        self._kinds = collections.Counter()
        self._last_commit = None

    def count(self, method, path):
        """Counts a proxied request by its kind."""
        with self._lock:
            self._kinds[request_kind(method, path)] += 1

    def committed(self):
        """Notes that the upstream just answered a shard commit's PUT."""
        with self._lock:
            self._last_commit = time.time()

    def throttle(self, throttle):
        """Throttles from now on with `throttle` (a Throttle, fresh buckets), or stops throttling (None)."""
        with self._lock:
            self._throttle = throttle

    def admit(self, path):
        """False when the throttle turns this proxied request away (counted as throttled)."""
        with self._lock:
            if self._throttle is None or self._throttle.admit(prefix_of(path)):
                return True
            self._throttled += 1
            return False

    def extend(self, faults):
        with self._lock:
            self._faults.extend(faults)
            return len(self._faults)

    def next_request(self, take_fault=True):
        """Counts one proxied request and returns the fault it should suffer, or None."""
        with self._lock:
            self._requests += 1
            while take_fault and self._faults:
                fault = self._faults[0]
                window = fault.get("for_seconds")
                if window is None:
                    self._served += 1
                    return self._faults.popleft()
                started = fault.setdefault("started", time.monotonic())
                if window == -1 or time.monotonic() - started < window:
                    self._served += 1
                    return fault
                self._faults.popleft()
            return None

    def stats(self):
        with self._lock:
            return {
                "requests": self._requests,
                "faults_served": self._served,
                "pending": len(self._faults),
                "throttled": self._throttled,
                "by_kind": dict(self._kinds),
                "last_commit_at": self._last_commit,
            }

    def reset(self):
        with self._lock:
            self._faults.clear()
            self._requests = 0
            self._served = 0
            self._throttle = None
            self._throttled = 0
            self._kinds.clear()
            self._last_commit = None


class Upstream:
    """Where requests go: scheme, host and port of the server behind the proxy."""

    def __init__(self, url):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"upstream must be an http:// or https:// URL, got {url!r}")
        if parts.path not in ("", "/") or parts.query:
            raise ValueError(f"upstream must not have a path or query, got {url!r}")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)

    def connect(self, timeout):
        cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        return cls(self.host, self.port, timeout=timeout)


class FaultProxyServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address, upstream, upstream_timeout):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.upstream = upstream
        self.upstream_timeout = upstream_timeout
        self.plan = FaultPlan()
        self.stopping = threading.Event()
        self.verbose = False
        super().__init__(address, FaultProxyHandler)

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        if isinstance(error, DISCONNECTS):
            return
        log(f"error serving {client_address}: {error!r}")


class FaultProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fault-proxy"
    # Idle keep-alive connections are closed after this long, so their threads do not linger.
    timeout = 300

    def __init__(self, *args, **kwargs):
        self.upstream_connection = None
        super().__init__(*args, **kwargs)

    # One entry point for every method; BaseHTTPRequestHandler looks up do_<METHOD>.
    def do_request(self):
        try:
            if self.path.startswith(CONTROL_PREFIX):
                self.handle_control()
            else:
                self.handle_proxied()
        except DISCONNECTS:
            self.close_connection = True
            self.discard_upstream()

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = do_OPTIONS = do_request

    def finish(self):
        self.discard_upstream()
        try:
            super().finish()
        except DISCONNECTS:
            pass

    def log_message(self, format, *args):
        if self.server.verbose:
            log(f"{self.address_string()} {format % args}")

    # Reading the request

    def read_body(self):
        """The whole request body, whether framed by Content-Length or chunked."""
        encodings = [
            value.strip().lower()
            for header in self.headers.get_all("Transfer-Encoding", [])
            for value in header.split(",")
        ]
        if encodings:
            if encodings[-1] != "chunked":
                raise BadRequest(f"unsupported Transfer-Encoding: {', '.join(encodings)}")
            return self.read_chunked_body()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            length = int(length)
        except ValueError:
            raise BadRequest(f"invalid Content-Length: {length!r}")
        if length < 0:
            raise BadRequest(f"invalid Content-Length: {length}")
        body = self.rfile.read(length)
        if len(body) != length:
            raise ConnectionResetError("client closed the connection mid-body")
        return body

    def read_chunked_body(self):
        chunks = []
        while True:
            line = self.rfile.readline(65537)
            if not line:
                raise ConnectionResetError("client closed the connection mid-body")
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise BadRequest(f"invalid chunk size line: {line[:40]!r}")
            if size == 0:
                break
            chunk = self.rfile.read(size)
            if len(chunk) != size or self.rfile.read(2) != b"\r\n":
                raise ConnectionResetError("client closed the connection mid-chunk")
            chunks.append(chunk)
        # Trailer fields, up to the empty line. They are not forwarded.
        while True:
            line = self.rfile.readline(65537)
            if not line:
                raise ConnectionResetError("client closed the connection in the trailer")
            if line in (b"\r\n", b"\n"):
                return b"".join(chunks)

    # Control API

    def handle_control(self):
        try:
            body = self.read_body()
        except BadRequest as error:
            return self.send_json(400, {"error": str(error)})
        route = (self.command, urllib.parse.urlsplit(self.path).path)
        plan = self.server.plan
        if route == ("GET", CONTROL_PREFIX + "stats"):
            return self.send_json(200, plan.stats())
        if route == ("POST", CONTROL_PREFIX + "reset"):
            plan.reset()
            return self.send_json(200, plan.stats())
        if route == ("POST", CONTROL_PREFIX + "plan"):
            try:
                document = json.loads(body or b"null")
                faults = document.get("faults") if isinstance(document, dict) else None
                if not isinstance(faults, list):
                    raise ValueError('expected a JSON object {"faults": [...]}')
                faults = [validate_fault(fault) for fault in faults]
            except ValueError as error:
                return self.send_json(400, {"error": str(error)})
            pending = plan.extend(faults)
            log(f"queued {len(faults)} fault(s); {pending} pending")
            return self.send_json(200, {"pending": pending})
        if route == ("POST", CONTROL_PREFIX + "throttle"):
            try:
                document = json.loads(body or b"null")
                if not isinstance(document, dict) or "rate" not in document:
                    raise ValueError('expected a JSON object {"rate": N, "burst": N} or {"rate": null}')
                rate = document["rate"]
                throttle = None if rate is None else Throttle(rate, document.get("burst"))
            except ValueError as error:
                return self.send_json(400, {"error": str(error)})
            plan.throttle(throttle)
            log(f"throttling at {rate} requests a second" if throttle else "throttling off")
            return self.send_json(200, plan.stats())
        self.send_json(404, {"error": f"no control route {self.command} {self.path}"})

    def send_json(self, status, value):
        payload = json.dumps(value).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    # Proxying

    def handle_proxied(self):
        try:
            body = self.read_body()
        except BadRequest as error:
            self.server.plan.next_request(take_fault=False)
            self.close_connection = True
            payload = f"{error}\n".encode()
            self.send_response(400)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(payload)
            return

        self.server.plan.count(self.command, self.path)
        fault = self.server.plan.next_request()
        if fault is not None:
            log(f"{self.command} {self.path}: injecting {json.dumps(fault, sort_keys=True)}")
            kind = fault["kind"]
            if kind == "status":
                return self.send_fault_status(fault)
            if kind == "stall_before_headers":
                return self.hang_up(after=fault["seconds"])
            if kind == "drop" and not fault.get("after_upstream"):
                return self.hang_up(after=0)
            if kind == "reset":
                return self.reset_connection()
        elif not self.server.plan.admit(self.path):
            if self.server.verbose:
                log(f"{self.command} {self.path}: throttled")
            return self.send_fault_status(THROTTLED)

        try:
            response = self.forward(body)
        except (OSError, http.client.HTTPException) as error:
            self.discard_upstream()
            log(f"{self.command} {self.path}: upstream failed: {error!r}")
            return self.send_bad_gateway(error)

        if fault is not None and fault["kind"] == "drop":
            self.discard_upstream()
            return self.hang_up(after=0)
        if fault is not None and fault["kind"] == "stall":
            no_body = self.response_has_no_body(response)
            payload = b"" if no_body else response.read()
            self.discard_upstream()
            self.send_upstream_head(response, None if no_body else len(payload))
            self.wfile.write(payload[: fault.get("after_bytes", 0)])
            self.wfile.flush()
            return self.hang_up(after=fault["seconds"])
        commit = self.command == "PUT" and "/commits/" in self.path and response.status < 300
        self.relay(response)
        if commit:
            self.server.plan.committed()

    def forward(self, body):
        """Sends the request upstream and returns the response, its body unread.

        A kept-alive upstream connection may have been closed by the upstream while idle; in that case the
        request is sent once more on a fresh connection.
        """
        headers = self.forwarded_headers(body)
        for attempt in (1, 2):
            reused = self.upstream_connection is not None
            if not reused:
                self.upstream_connection = self.server.upstream.connect(self.server.upstream_timeout)
            connection = self.upstream_connection
            try:
                connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in headers:
                    connection.putheader(name, value)
                connection.endheaders(body if body else None)
                return connection.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.discard_upstream()
                if not reused or attempt == 2:
                    raise

    def forwarded_headers(self, body):
        connection_tokens = {
            token.strip().lower() for header in self.headers.get_all("Connection", []) for token in header.split(",")
        }
        framed = "Content-Length" in self.headers or "Transfer-Encoding" in self.headers
        headers = []
        for name, value in self.headers.items():
            lowered = name.lower()
            # The body is already here, so Expect: 100-continue has been answered by this proxy.
            if lowered in HOP_BY_HOP or lowered in connection_tokens or lowered in ("content-length", "expect"):
                continue
            headers.append((name, value))
        if framed or body:
            headers.append(("Content-Length", str(len(body))))
        return headers

    def response_has_no_body(self, response):
        return self.command == "HEAD" or response.status in (204, 304) or 100 <= response.status < 200

    def send_upstream_head(self, response, content_length):
        """Status line and upstream headers; Content-Length is `content_length`, or upstream's when None."""
        self.log_request(response.status)
        self.send_response_only(response.status, response.reason)
        for name, value in response.getheaders():
            lowered = name.lower()
            if lowered in HOP_BY_HOP or (lowered == "content-length" and content_length is not None):
                continue
            self.send_header(name, value)
        if content_length is not None:
            self.send_header("Content-Length", str(content_length))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def relay(self, response):
        if self.response_has_no_body(response):
            response.read()
            self.send_upstream_head(response, None)
            self.after_upstream_response(response)
            return
        declared = response.getheader("Content-Length")
        if response.chunked or declared is None or response.length is None:
            payload = response.read()
            self.send_upstream_head(response, len(payload))
            self.after_upstream_response(response)
            self.wfile.write(payload)
            return
        # Stream bodies of known length, so large objects do not sit in memory.
        self.send_upstream_head(response, response.length)
        try:
            while True:
                block = response.read(256 * 1024)
                if not block:
                    break
                self.wfile.write(block)
        except BaseException:
            self.discard_upstream()
            raise
        if response.length:
            # The upstream sent fewer bytes than it promised; the client cannot be told, so hang up.
            self.discard_upstream()
            self.close_connection = True
            return
        self.after_upstream_response(response)

    def after_upstream_response(self, response):
        if response.will_close:
            self.discard_upstream()

    def send_fault_status(self, fault):
        status = fault["status"]
        payload = (
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            f"<Error><Code>{escape(str(fault['code']))}</Code>"
            f"<Message>{escape(str(fault['message']))}</Message>"
            "<RequestId>fault-proxy</RequestId></Error>"
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("x-amz-request-id", "fault-proxy")
        if fault.get("retry_after") is not None:
            retry_after = fault["retry_after"]
            if float(retry_after).is_integer():
                retry_after = int(retry_after)
            self.send_header("Retry-After", str(retry_after))
        self.send_header("Content-Length", "0" if self.command == "HEAD" else str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def send_bad_gateway(self, error):
        payload = f"fault_proxy: upstream request failed: {error!r}\n".encode()
        self.close_connection = True
        self.send_response(502)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    def hang_up(self, after):
        """Waits `after` seconds (cut short on shutdown), then closes the client socket without more bytes."""
        self.close_connection = True
        if after > 0:
            self.server.stopping.wait(after)
        try:
            self.wfile.flush()
        except DISCONNECTS:
            pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def reset_connection(self):
        """Closes the client socket with a TCP RST: SO_LINGER on with a zero timeout, then close."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def discard_upstream(self):
        if self.upstream_connection is not None:
            self.upstream_connection.close()
            self.upstream_connection = None


def parse_listen(text):
    host, separator, port = text.rpartition(":")
    if not separator or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def write_port_file(path, port):
    """Writes the port atomically, so a reader polling for the file never sees it half written."""
    temporary = f"{path}.tmp"
    with open(temporary, "w") as file:
        file.write(f"{port}\n")
    os.replace(temporary, path)


def main():
    parser = argparse.ArgumentParser(description="Fault-injecting HTTP reverse proxy for tests.")
    parser.add_argument("--listen", type=parse_listen, default=("127.0.0.1", 0), help="HOST:PORT (port 0: any)")
    parser.add_argument("--upstream", required=True, help="base URL of the server to forward to")
    parser.add_argument("--port-file", help="write the listening port here once ready")
    parser.add_argument("--upstream-timeout", type=float, default=120, help="seconds (default 120)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args()

    try:
        upstream = Upstream(args.upstream)
    except ValueError as error:
        parser.error(str(error))
    server = FaultProxyServer(args.listen, upstream, args.upstream_timeout)
    server.verbose = args.verbose

    def stop(signum, frame):
        server.stopping.set()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    port = server.server_address[1]
    if args.port_file:
        write_port_file(args.port_file, port)
    log(f"listening on {args.listen[0]}:{port}, forwarding to {args.upstream}")
    try:
        server.serve_forever(poll_interval=0.2)
    except SystemExit:
        pass
    finally:
        server.stopping.set()
        server.server_close()
        log("stopped")


if __name__ == "__main__":
    main()
