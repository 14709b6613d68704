"""Servers of a benchmark's own on loopback: moto's S3 and the fault proxy in front of it."""
import concurrent.futures
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_answers(url, process, name):
    for _ in range(300):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"bench: {name} exited during startup")
            time.sleep(0.1)
    raise SystemExit(f"bench: {name} did not answer")


def control(proxy, route, document=None):
    """Calls the fault proxy's control API: GET without a document, POST with one."""
    data = None if document is None else json.dumps(document).encode()
    request = urllib.request.Request(f"{proxy}/__fault/{route}", data=data, method="GET" if data is None else "POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def use_test_credentials():
    """Points boto3 and fanout at moto's fixed credentials, and at nothing of the user's own."""
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_RETRY_MODE"):
        os.environ.pop(name, None)


@contextlib.contextmanager
def moto_and_proxy(work):
    """Starts moto and the fault proxy in front of it, logging into `work`; yields (moto URL, proxy URL)."""
    use_test_credentials()
    processes = []
    try:
        moto_port = free_port()
        moto_log = open(os.path.join(work, "moto.log"), "w")
        moto = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)],
            stdin=subprocess.DEVNULL, stdout=moto_log, stderr=moto_log)
        processes.append(moto)
        endpoint = f"http://127.0.0.1:{moto_port}"
        wait_until_answers(endpoint + "/", moto, "moto")
        port_file = os.path.join(work, "proxy.port")
        proxy_log = open(os.path.join(work, "proxy.log"), "w")
        proxy_process = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "test-servers", "fault_proxy.py"), "--listen", "127.0.0.1:0",
             "--upstream", endpoint, "--port-file", port_file],
            stdin=subprocess.DEVNULL, stdout=proxy_log, stderr=proxy_log)
        processes.append(proxy_process)
        for _ in range(300):
            if os.path.exists(port_file):
                break
            time.sleep(0.1)
        proxy = f"http://127.0.0.1:{open(port_file).read().strip()}"
        wait_until_answers(proxy + "/__fault/stats", proxy_process, "fault proxy")
        yield endpoint, proxy
    finally:
        for process in processes:
            process.kill()
            process.wait()


def create_bucket(endpoint, bucket, objects=()):
    """Creates `bucket` in moto and puts `objects` ((key, bytes) pairs) into it, 16 at a time."""
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=bucket)

    def put(item):
        client.put_object(Bucket=bucket, Key=item[0], Body=item[1])

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(put, objects))
