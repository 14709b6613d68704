"""The fault proxy's throttle: token buckets per prefix, on an injected clock, and its control route."""

import json
import os
import sys
import threading
import urllib.request

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import fault_proxy  # noqa: E402


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_burst_then_exactly_the_rate():
    clock = FakeClock()
    throttle = fault_proxy.Throttle(rate=20, burst=5, clock=clock)
    assert [throttle.admit("/b") for _ in range(7)] == [True] * 5 + [False] * 2
    clock.now += 0.25  # five tokens more
    assert [throttle.admit("/b") for _ in range(6)] == [True] * 5 + [False]
    # Over ten seconds of requests every 5 ms (200 a second), 20 a second get through.
    admitted = 0
    for _ in range(2000):
        clock.now += 0.005
        admitted += throttle.admit("/b")
    assert 199 <= admitted <= 201


def test_throttled_requests_take_no_token_and_the_burst_is_the_most_saved():
    clock = FakeClock()
    throttle = fault_proxy.Throttle(rate=10, clock=clock)
    assert sum(throttle.admit("/b") for _ in range(100)) == 10  # burst defaults to one second's worth
    clock.now += 60
    assert sum(throttle.admit("/b") for _ in range(100)) == 10


def test_each_prefix_has_its_own_bucket():
    clock = FakeClock()
    throttle = fault_proxy.Throttle(rate=1, burst=1, clock=clock)
    assert throttle.admit(fault_proxy.prefix_of("/bucket/logs/a.txt"))
    assert not throttle.admit(fault_proxy.prefix_of("/bucket/logs/b.txt?partNumber=1"))
    assert throttle.admit(fault_proxy.prefix_of("/bucket/images/a.png"))
    assert throttle.admit(fault_proxy.prefix_of("/bucket?list-type=2"))
    assert not throttle.admit(fault_proxy.prefix_of("/bucket/top-level-object"))


def test_prefixes():
    assert fault_proxy.prefix_of("/bucket/a/b/c.txt") == "/bucket/a/b"
    assert fault_proxy.prefix_of("/bucket/c.txt") == "/bucket"
    assert fault_proxy.prefix_of("/bucket?list-type=2&prefix=a/") == "/bucket"
    assert fault_proxy.prefix_of("/bucket/") == "/bucket"


@pytest.mark.parametrize("rate, burst", [(0, None), (-1, None), ("fast", None), (True, None), (5, 0), (5, "x")])
def test_bad_settings_are_refused(rate, burst):
    with pytest.raises(ValueError):
        fault_proxy.Throttle(rate, burst)


@pytest.fixture
def proxy():
    """A proxy on loopback in front of a closed port: throttled requests never reach the upstream."""
    server = fault_proxy.FaultProxyServer(("127.0.0.1", 0), fault_proxy.Upstream("http://127.0.0.1:9"), 5)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def call(url, method="GET", document=None):
    data = None if document is None else json.dumps(document).encode()
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_the_control_route_throttles_with_s3s_answer_and_counts(proxy):
    status, body = call(proxy + "/__fault/throttle", "POST", {"rate": 0.001, "burst": 1})
    assert status == 200
    # The first request takes the only token and goes to the (closed) upstream: 502 from the proxy.
    assert call(proxy + "/bucket/k1")[0] == 502
    status, body = call(proxy + "/bucket/k2")
    assert status == 503
    assert b"<Code>SlowDown</Code>" in body and b"Please reduce your request rate." in body
    stats = json.loads(call(proxy + "/__fault/stats")[1])
    assert stats == {
        "requests": 2, "faults_served": 0, "pending": 0, "throttled": 1, "by_kind": {"get": 2},
        "last_commit_at": None,
    }
    assert call(proxy + "/__fault/throttle", "POST", {"rate": "x"})[0] == 400
    call(proxy + "/__fault/reset", "POST", {})
    assert call(proxy + "/bucket/k3")[0] == 502  # reset stops throttling
    assert json.loads(call(proxy + "/__fault/stats")[1])["throttled"] == 0


def test_requests_are_counted_by_what_they_do_to_s3():
    kind = fault_proxy.request_kind
    assert kind("GET", "/bucket?list-type=2&prefix=a/") == "list"
    assert kind("GET", "/bucket/") == "list"
    assert kind("GET", "/bucket/a/b.txt") == "get"
    assert kind("GET", "/bucket/a/b.txt?list-type=2") == "list"
    assert kind("PUT", "/bucket/state/v1/runs/r/commits/shard-000001.json") == "put"
    assert kind("HEAD", "/bucket/a") == "head"
    assert kind("DELETE", "/bucket/a") == "delete"
    assert kind("POST", "/bucket?delete") == "post"
