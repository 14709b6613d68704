"""Memory limits: a container over its `resources.limits.memory` is OOM-killed and reported as a real kubelet reports
it (state.terminated reason OOMKilled, exit code 137, no pod-level reason, no event), and the Job controller treats
the pod as any failed pod."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction
from typing import Any

import pytest

from conftest import KubeTestServer, job_manifest
from memory import MemoryWatch, resident_by_group, session_members
from quantity import parse_quantity, quantity_bytes

ALLOCATE = "import time; x = bytearray({mib} * 1024 * 1024); print('allocated', flush=True); time.sleep({sleep})"


def allocate(mib: int, sleep: float = 30) -> str:
    """A shell command whose Python process holds `mib` MiB resident, then sleeps."""
    return f'python3 -c "{ALLOCATE.format(mib=mib, sleep=sleep)}"'


def pod_manifest(name: str, command: str, memory: str, restart_policy: str = "Never") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": restart_policy,
            "containers": [
                {
                    "name": "main",
                    "image": "python:3.11",
                    "command": ["sh", "-c", command],
                    "resources": {"limits": {"memory": memory}},
                }
            ],
        },
    }


def kubectl_pod(server: KubeTestServer, namespace: str, name: str) -> dict[str, Any]:
    return json.loads(server.kubectl("-n", namespace, "get", "pod", name, "-o", "json").stdout)


def wait_for_phase(server: KubeTestServer, namespace: str, name: str, phases: set[str], timeout: float = 30) -> None:
    def check() -> bool:
        response = server.request("GET", f"/api/v1/namespaces/{namespace}/pods/{name}")
        return response.status == 200 and response.json().get("status", {}).get("phase") in phases

    server.wait_for(f"pod {name} in {phases}", check, timeout)


# MARK: - Quantities and the watch


def test_quantities() -> None:
    assert quantity_bytes("64Mi") == 64 * 1024**2
    assert quantity_bytes("1Gi") == 1024**3
    assert quantity_bytes("500M") == 500_000_000
    assert quantity_bytes("1e6") == 1_000_000
    assert quantity_bytes("1E3") == 1000
    assert quantity_bytes("1E") == 10**18  # exa, not an exponent
    assert quantity_bytes("128974848") == 128974848
    assert quantity_bytes(1000) == 1000
    assert quantity_bytes("0.5Gi") == 512 * 1024**2
    assert quantity_bytes("1.5k") == 1500
    assert quantity_bytes("500m") == 1  # half a byte rounds up, as Quantity.Value() does
    assert parse_quantity("250m") == Fraction(1, 4)
    for bad in ("", "Mi", "1 Mi", "1mi", "64MiB", "1e", "--1", True):
        with pytest.raises(ValueError):
            parse_quantity(bad)


class FakeRun:
    def __init__(self, group: int, running: bool = True):
        self.group = group
        self.running = running
        self.killed_at: int | None = None

    def oom_kill(self, usage: int) -> None:
        self.killed_at = usage
        self.running = False


def test_memory_watch_kills_the_group_over_its_limit_and_forgets_ended_runs() -> None:
    usage = {10: 100, 20: 300, 30: 900}
    watch = MemoryWatch(sample=lambda: dict(usage))
    under, over, ended = FakeRun(10), FakeRun(20), FakeRun(30, running=False)
    watch.watch(under, 200)
    watch.watch(over, 200)
    watch.watch(ended, 200)
    assert watch.check() == [over]
    assert over.killed_at == 300
    assert under.killed_at is None and ended.killed_at is None
    assert watch.watched == 1  # the killed run and the run that had ended are no longer watched
    usage[10] = 201
    assert watch.check() == [under]
    assert watch.watched == 0 and watch.check() == []


def test_resident_memory_is_summed_over_the_session() -> None:
    # A shell and its Python child share the session the shell leads; the child holds 48 MiB in a process group
    # of its own (as a program that runs commands in their own groups does), and still counts.
    script = (
        "import os, time; os.setpgid(0, 0); x = bytearray(48 * 1024 * 1024); print('ready', flush=True); "
        "time.sleep(30)"
    )
    process = subprocess.Popen(
        ["sh", "-c", f'"{sys.executable}" -c "{script}"; true'],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline() == b"ready\n"
        # Counted under the session's id, the shell's pid, though the memory is the child's.
        assert resident_by_group()[process.pid] >= 48 * 1024**2
        members = session_members(process.pid)
        assert process.pid in members and len(members) == 2
    finally:
        for pid in session_members(process.pid):
            os.kill(pid, 9)
        process.wait()


# MARK: - The kubelet


def test_a_pod_over_its_memory_limit_is_oom_killed(server: KubeTestServer, namespace: str) -> None:
    server.kubectl("-n", namespace, "create", "-f", "-", input=json.dumps(pod_manifest("hog", allocate(200), "64Mi")))
    wait_for_phase(server, namespace, "hog", {"Failed", "Succeeded"}, timeout=20)  # long before its 30 s sleep ends
    path = "{.status.phase} {.status.containerStatuses[0].state.terminated.reason} "
    path += "{.status.containerStatuses[0].state.terminated.exitCode}"
    shown = server.kubectl("-n", namespace, "get", "pod", "hog", "-o", f"jsonpath={path}").stdout
    assert shown == "Failed OOMKilled 137"
    pod = kubectl_pod(server, namespace, "hog")
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    # As the kubelet writes it: no signal and no message (the runtime reports neither), and no pod-level reason.
    assert set(terminated) == {"exitCode", "reason", "startedAt", "finishedAt", "containerID"}
    assert "reason" not in pod["status"]
    assert not [c for c in pod["status"]["conditions"] if c["type"] == "DisruptionTarget"]
    table = server.kubectl("-n", namespace, "get", "pod", "hog").stdout
    assert "OOMKilled" in table.splitlines()[1].split()
    events = server.request("GET", f"/api/v1/namespaces/{namespace}/events").json()["items"]
    assert not [e for e in events if e["involvedObject"]["name"] == "hog" and e["type"] == "Warning"]


def test_a_pod_under_its_memory_limit_succeeds(server: KubeTestServer, namespace: str) -> None:
    command = allocate(16, sleep=0.5)
    server.kubectl("-n", namespace, "create", "-f", "-", input=json.dumps(pod_manifest("frugal", command, "256Mi")))
    wait_for_phase(server, namespace, "frugal", {"Failed", "Succeeded"})
    path = "{.status.phase} {.status.containerStatuses[0].state.terminated.reason} "
    path += "{.status.containerStatuses[0].state.terminated.exitCode}"
    shown = server.kubectl("-n", namespace, "get", "pod", "frugal", "-o", f"jsonpath={path}").stdout
    assert shown == "Succeeded Completed 0"
    assert server.kubectl("-n", namespace, "logs", "frugal").stdout == "allocated\n"


def test_a_restarted_container_shows_the_oom_kill_in_last_state(
    server: KubeTestServer, namespace: str, tmp_path
) -> None:
    marker = tmp_path / "oom-once"
    command = f"if [ -e {marker} ]; then echo second; exit 0; fi; touch {marker}; {allocate(200)}"
    manifest = pod_manifest("restarted", command, "64Mi", restart_policy="OnFailure")
    server.kubectl("-n", namespace, "create", "-f", "-", input=json.dumps(manifest))
    wait_for_phase(server, namespace, "restarted", {"Failed", "Succeeded"})
    status = kubectl_pod(server, namespace, "restarted")["status"]
    assert status["phase"] == "Succeeded"
    container = status["containerStatuses"][0]
    assert container["restartCount"] == 1
    last = container["lastState"]["terminated"]
    assert (last["reason"], last["exitCode"]) == ("OOMKilled", 137)
    assert container["state"]["terminated"]["reason"] == "Completed"


def test_a_fail_index_rule_on_exit_code_137_fails_the_oom_killed_index(server: KubeTestServer, namespace: str) -> None:
    # Disruptions are ignored first: were an OOM kill marked DisruptionTarget, index 1 would be retried instead.
    job = job_manifest(
        "oom",
        f'if [ "$JOB_COMPLETION_INDEX" = 1 ]; then {allocate(200)}; fi; echo done',
        completionMode="Indexed",
        completions=2,
        parallelism=2,
        backoffLimitPerIndex=3,
        podFailurePolicy={
            "rules": [
                {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
                {"action": "FailIndex", "onExitCodes": {"containerName": "main", "operator": "In", "values": [137]}},
            ]
        },
    )
    job["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"memory": "64Mi"}}
    server.create_job(namespace, job)
    finished = server.wait_for_condition(namespace, "oom", "Failed")
    status = finished["status"]
    assert (status["failedIndexes"], status["completedIndexes"], status["failed"]) == ("1", "0", 1)
    index_one = server.pods(namespace, "job-name=oom,batch.kubernetes.io/job-completion-index=1")
    assert len(index_one) == 1, "FailIndex: no retry of index 1 despite backoffLimitPerIndex 3"
    terminated = index_one[0]["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["reason"], terminated["exitCode"]) == ("OOMKilled", 137)
    described = server.kubectl("-n", namespace, "get", "job", "oom", "-o", "jsonpath={.status.conditions[0].type}")
    assert described.stdout == "FailureTarget"
