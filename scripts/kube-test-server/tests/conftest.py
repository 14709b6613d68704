"""Starts one kube-test-server for the session and gives tests a real kubectl and a raw HTTP client for it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest

SERVER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, SERVER_DIR)

KUBECTL_DIRS = ["/usr/lib/google-cloud-sdk/bin", "/usr/bin", "/usr/local/bin"]


def kubectl_binary(version: str | None = None) -> str | None:
    """`kubectl` on PATH, or kubectl.1.NN from the Cloud SDK for a specific minor version."""
    if version is None:
        return shutil.which("kubectl")
    for directory in KUBECTL_DIRS:
        candidate = os.path.join(directory, f"kubectl.{version}")
        if os.access(candidate, os.X_OK):
            return candidate
    return None


class Response:
    def __init__(self, status: int, headers: Any, body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


class KubeTestServer:
    def __init__(self, state_dir: str):
        self.state_dir = state_dir
        self.home = os.path.join(state_dir, "home")
        os.makedirs(self.home, exist_ok=True)
        self.log_path = os.path.join(state_dir, "server.log")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, SERVER_DIR, "--state-dir", self.state_dir, "--bookmark-interval", "0.5"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        ports_file = os.path.join(self.state_dir, "ports.json")
        deadline = time.time() + 20
        while not os.path.exists(ports_file):
            if self.process.poll() is not None or time.time() > deadline:
                raise RuntimeError(
                    f"kube-test-server did not start; see {self.log_path}:\n{open(self.log_path).read()}"
                )
            time.sleep(0.05)
        with open(ports_file) as file:
            ports = json.load(file)
        self.https_url = f"https://127.0.0.1:{ports['https']}"
        self.http_url = f"http://127.0.0.1:{ports['http']}"
        self.named_url = f"https://127.0.0.1:{ports['https_named']}"
        self.control_url = f"{self.http_url}/__test"
        self.kubeconfig = os.path.join(self.state_dir, "kubeconfig")
        self.ca = os.path.join(self.state_dir, "tls", "ca.pem")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    # MARK: - Clients

    def kubectl(
        self,
        *args: str,
        context: str = "token",
        version: str | None = None,
        input: str | None = None,
        check: bool = True,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        binary = kubectl_binary(version)
        if binary is None:
            pytest.skip(f"kubectl {version or ''} is not installed")
        env = {**os.environ, "HOME": self.home, "KUBECONFIG": self.kubeconfig}
        result = subprocess.run(
            [binary, "--context", context, *args], input=input, capture_output=True, text=True, env=env, timeout=timeout
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = "test-token",
        https: bool = False,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
        timeout: float = 30,
    ) -> Response:
        url = (self.https_url if https else self.http_url) + path
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", content_type)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        context = ssl.create_default_context(cafile=self.ca) if https else None
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
                return Response(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return Response(error.code, error.headers, error.read())

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = self.request(
            method, "/__test/" + path, body if body is not None else ({} if method == "POST" else None), token=None
        )
        assert response.status == 200, response.body
        return response.json()

    def watch(self, path: str, *, timeout: float = 15) -> Any:
        """The events of a watch, read as they arrive (an iterator of dicts); the caller stops when satisfied."""
        request = urllib.request.Request(self.http_url + path)
        request.add_header("Authorization", "Bearer test-token")
        response = urllib.request.urlopen(request, timeout=timeout)

        def events() -> Any:
            with response:
                for line in response:
                    if line.strip():
                        yield json.loads(line)

        return events()

    # MARK: - Waiting

    def wait_for(self, what: str, check: Any, timeout: float = 30, interval: float = 0.1) -> Any:
        deadline = time.time() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.time() > deadline:
                raise AssertionError(f"timed out waiting for {what}; server log tail:\n{self.log_tail()}")
            time.sleep(interval)

    def job(self, namespace: str, name: str) -> dict[str, Any]:
        response = self.request("GET", f"/apis/batch/v1/namespaces/{namespace}/jobs/{name}")
        assert response.status == 200, response.body
        return response.json()

    def pods(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        response = self.request(
            "GET", f"/api/v1/namespaces/{namespace}/pods?labelSelector={urllib.request.quote(selector)}"
        )
        assert response.status == 200, response.body
        return response.json()["items"]

    def wait_for_condition(self, namespace: str, name: str, kind: str, timeout: float = 30) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            job = self.job(namespace, name)
            for item in job.get("status", {}).get("conditions") or []:
                if item["type"] == kind and item["status"] == "True":
                    return job
            return None

        return self.wait_for(f"job {namespace}/{name} condition {kind}", done, timeout)

    def create_job(self, namespace: str, job: dict[str, Any]) -> dict[str, Any]:
        response = self.request("POST", f"/apis/batch/v1/namespaces/{namespace}/jobs", job)
        assert response.status == 201, response.body
        return response.json()

    def log_tail(self, lines: int = 40) -> str:
        with open(self.log_path) as file:
            return "".join(file.readlines()[-lines:])


@pytest.fixture(scope="session")
def server() -> Any:
    state_dir = tempfile.mkdtemp(prefix="kube-test-server-")
    instance = KubeTestServer(state_dir)
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()
        log = open(instance.log_path).read()
        shutil.rmtree(state_dir, ignore_errors=True)
    # A controller or kubelet error is logged, not answered: make it fail the run.
    assert "Traceback" not in log, f"the server logged an error:\n{log}"


@pytest.fixture
def namespace(server: KubeTestServer) -> str:
    """A fresh namespace per test (namespaces are created on first use), deleted afterwards."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    yield name
    server.request("DELETE", f"/api/v1/namespaces/{name}")


def job_manifest(name: str, command: str, **spec: Any) -> dict[str, Any]:
    """A batch/v1 Job whose one container runs `sh -c command`; `spec` adds or overrides Job spec fields."""
    pod_spec = {
        "restartPolicy": "Never",
        "containers": [{"name": "main", "image": "busybox", "command": ["sh", "-c", command]}],
    }
    pod_spec.update(spec.pop("pod_spec", {}))
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {"template": {"spec": pod_spec}, **spec},
    }
