"""Slow pods, as on a straggler node: a rule slows the next pods bound that match it (bound to the slow node, their
processes stopped and continued on a duty cycle), a running pod can be slowed or held and let go, and a replacement
pod runs at full speed."""

from __future__ import annotations

import json
import signal
import time
from typing import Any

import pytest

from conftest import KubeTestServer, job_manifest
from runtime import ContainerRun, LogFile
from slowness import SLOW_NODE_NAME, Slowness, SlowPods, SlowRule, Throttle

# CPU-bound work of a fixed size that prints the seconds it took, as the pod's clock measures them.
WORK = "import time; t = time.time(); sum(i * i for i in range(3_000_000)); print(round(time.time() - t, 3))"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeRun:
    def __init__(self) -> None:
        self.running = True
        self.signals: list[int] = []

    def send(self, signum: int) -> None:
        self.signals.append(signum)


def pod(namespace: str, name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"metadata": {"namespace": namespace, "name": name, "labels": labels}}


# MARK: - Rules and the duty cycle


def test_a_rule_slows_only_the_next_matching_pods() -> None:
    rules = SlowPods()
    selector = "job-name=map,batch.kubernetes.io/job-completion-index=3"
    rules.add(SlowRule.from_json({"namespace": "a", "selector": selector, "factor": 10}))
    index3 = {"job-name": "map", "batch.kubernetes.io/job-completion-index": "3"}
    index2 = {**index3, "batch.kubernetes.io/job-completion-index": "2"}
    assert rules.take(pod("a", "map-2-x", index2)) is None
    assert rules.take(pod("b", "map-3-x", index3)) is None  # another namespace
    assert rules.take(pod("a", "map-3-first", index3)) == Slowness(factor=10)
    assert rules.take(pod("a", "map-3-replacement", index3)) is None  # count 1: used
    assert rules.pending() == []
    assert [item["name"] for item in rules.slowed()] == ["map-3-first"]
    rules.add(SlowRule.from_json({"selector": "job-name=map", "count": None, "startDelaySeconds": 2}))
    assert all(rules.take(pod("b", f"map-{n}", index2)) == Slowness(start_delay=2) for n in range(5))
    assert len(rules.pending()) == 1
    rules.clear()
    assert rules.pending() == [] and rules.slowed() == []


@pytest.mark.parametrize(
    "body",
    [
        {"selector": "a=b"},
        {"factor": 0.5},
        {"factor": 2, "count": 0},
        {"factor": 2, "speed": 3},
        {"holdSeconds": 2},
        {"factor": 2, "selector": "a in ("},
        [],
    ],
)
def test_rules_that_say_nothing_sensible_are_refused(body: Any) -> None:
    with pytest.raises(ValueError):
        SlowRule.from_json(body)


def test_the_throttle_holds_then_runs_one_part_in_factor_of_each_period() -> None:
    clock = FakeClock()
    throttle = Throttle(Slowness(factor=4, period=1.0, hold=5), clock=clock)  # its thread is not started
    run = FakeRun()
    throttle.add(run)
    assert run.signals == [signal.SIGSTOP] and throttle.stopped  # held from the throttle's start
    assert throttle.phase(clock.now + 4.9) == (True, 105.0)
    assert throttle.phase(105.1) == (False, pytest.approx(105.25))  # runs a quarter of each second
    assert throttle.phase(105.5) == (True, pytest.approx(106.0))
    assert throttle.phase(106.2) == (False, pytest.approx(106.25))
    late = FakeRun()
    throttle.add(late)  # a restarted container joins the cycle stopped
    assert late.signals == [signal.SIGSTOP]
    throttle.release()
    assert run.signals[-1] == late.signals[-1] == signal.SIGCONT and not throttle.stopped
    throttle.add(FakeRun())
    assert not throttle.stopped  # released for good


def test_changing_the_slowness_restarts_the_cycle_and_factor_one_lets_go() -> None:
    clock = FakeClock()
    run = FakeRun()
    throttle = Throttle(Slowness(factor=2, period=1.0), clock=clock)
    throttle.add(run)
    assert not throttle.stopped  # no hold: the cycle starts with its running part
    clock.now += 0.7
    throttle.change(Slowness(hold=10))
    assert throttle.stopped and run.signals == [signal.SIGSTOP]
    assert throttle.phase(clock.now + 9.9)[0] and not throttle.phase(clock.now + 10)[0]
    throttle.change(Slowness())
    assert not throttle.stopped and run.signals == [signal.SIGSTOP, signal.SIGCONT]


def test_a_delayed_command_starts_late_in_the_same_process(tmp_path) -> None:
    env = {"PATH": "/usr/bin:/bin"}
    run = ContainerRun(["sh", "-c", "echo $$"], env, str(tmp_path), LogFile(str(tmp_path / "a.log")), start_delay=0.5)
    run.start()
    assert run.wait().exit_code == 0
    assert run.log.read() == f"{run.group}\n".encode(), "the command runs in the process started, after exec"
    assert run.log.line_times[0] - run.started_at >= 0.5
    missing = ContainerRun(["no-such-command"], env, str(tmp_path), LogFile(str(tmp_path / "b.log")), start_delay=60)
    missing.start()
    assert missing.wait().reason == "StartError", "a command that cannot run fails at once, delay or not"


# MARK: - The kubelet


def elapsed(server: KubeTestServer, namespace: str, pod_name: str) -> float:
    response = server.request("GET", f"/api/v1/namespaces/{namespace}/pods/{pod_name}/log")
    assert response.status == 200, response.body
    return float(response.body.decode().split()[-1])


def test_a_rule_slows_the_first_pod_of_an_index_and_not_its_replacement(
    server: KubeTestServer, namespace: str, tmp_path
) -> None:
    index = "batch.kubernetes.io/job-completion-index"
    marker = tmp_path / "first-attempt-done"
    # Index 1's first attempt fails after its work, so that a replacement runs the same work.
    first_of_index_1 = f'[ "$JOB_COMPLETION_INDEX" = 1 ] && [ ! -e {marker} ]'
    command = f'python3 -c "{WORK}"; if {first_of_index_1}; then touch {marker}; exit 1; fi'
    rule = {"namespace": namespace, "selector": f"job-name=straggler,{index}=1", "factor": 5}
    assert server.control("POST", "slow-pods", rule)["pending"] == [
        {**rule, "count": 1, "factor": 5.0, "periodSeconds": 0.1, "startDelaySeconds": 0.0}
    ]
    try:
        job = job_manifest(
            "straggler", command, completionMode="Indexed", completions=2, parallelism=2, backoffLimitPerIndex=1
        )
        server.create_job(namespace, job)
        server.wait_for_condition(namespace, "straggler", "Complete", timeout=60)
        pods = server.pods(namespace, "job-name=straggler")
        by_name = {p["metadata"]["name"]: p for p in pods}
        slowed = server.control("GET", "slow-pods")
        assert slowed["pending"] == []
        assert [(item["namespace"], item["factor"]) for item in slowed["slowed"]] == [(namespace, 5.0)]
        slow = by_name[slowed["slowed"][0]["name"]]
        assert slow["metadata"]["labels"][index] == "1" and slow["status"]["phase"] == "Failed"
        assert slow["spec"]["nodeName"] == SLOW_NODE_NAME
        normal = [p for p in pods if p["metadata"]["labels"][index] == "0"][0]
        replacement = [p for p in pods if p["metadata"]["labels"][index] == "1" and p is not slow][0]
        assert normal["spec"]["nodeName"] == replacement["spec"]["nodeName"] == "fanout-test-node"
        wide = server.kubectl("-n", namespace, "get", "pod", slow["metadata"]["name"], "-o", "wide").stdout
        assert SLOW_NODE_NAME in wide
        slow_time = elapsed(server, namespace, slow["metadata"]["name"])
        normal_time = elapsed(server, namespace, normal["metadata"]["name"])
        replacement_time = elapsed(server, namespace, replacement["metadata"]["name"])
        assert slow_time >= 2 * normal_time, (slow_time, normal_time)
        assert slow_time >= 2 * replacement_time, (slow_time, replacement_time)
        ended = server.request("POST", f"/__test/pods/{namespace}/{normal['metadata']['name']}/slow", {"factor": 2})
        assert ended.status == 409, "a pod that has ended cannot be slowed"
    finally:
        server.control("POST", "slow-pods/reset")


def test_a_start_delay_holds_a_running_pod_before_it_does_anything(server: KubeTestServer, namespace: str) -> None:
    server.control("POST", "slow-pods", {"namespace": namespace, "selector": "job-name=late", "startDelaySeconds": 2})
    try:
        server.create_job(namespace, job_manifest("late", "echo started"))
        running = server.wait_for(
            "the held pod running",
            lambda: [p for p in server.pods(namespace, "job-name=late") if p["status"].get("phase") == "Running"],
        )[0]
        assert running["spec"]["nodeName"] == SLOW_NODE_NAME
        server.wait_for_condition(namespace, "late", "Complete")
    finally:
        server.control("POST", "slow-pods/reset")
    name = running["metadata"]["name"]
    started = running["status"]["containerStatuses"][0]["state"]["running"]["startedAt"]
    line = server.kubectl("-n", namespace, "logs", name, "--timestamps").stdout
    printed, text = line.split(" ", 1)
    assert text == "started\n"
    held = time.mktime(time.strptime(printed[:19], "%Y-%m-%dT%H:%M:%S")) - time.mktime(
        time.strptime(started[:19], "%Y-%m-%dT%H:%M:%S")
    )
    assert held >= 1, f"the first line came {held} s after the start (whole seconds)"


def test_a_slow_pod_is_disrupted_as_any_other(server: KubeTestServer, namespace: str) -> None:
    rule = {"namespace": namespace, "selector": "job-name=preempted", "factor": 10, "startDelaySeconds": 600}
    server.control("POST", "slow-pods", rule)
    try:
        job = job_manifest(
            "preempted",
            "echo done",
            backoffLimit=0,
            podFailurePolicy={
                "rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}]
            },
        )
        server.create_job(namespace, job)
        slow = server.wait_for(
            "the slow pod running",
            lambda: [p for p in server.pods(namespace, "job-name=preempted") if p["status"].get("phase") == "Running"],
        )[0]
        assert slow["spec"]["nodeName"] == SLOW_NODE_NAME
        server.control("POST", f"pods/{namespace}/{slow['metadata']['name']}/disrupt", {"mode": "evict"})
        finished = server.wait_for_condition(namespace, "preempted", "Complete")
    finally:
        server.control("POST", "slow-pods/reset")
    assert finished["status"]["succeeded"] == 1 and "failed" not in finished["status"]
    pods = {p["metadata"]["name"]: p for p in server.pods(namespace, "job-name=preempted")}
    evicted = pods.pop(slow["metadata"]["name"])
    assert (evicted["status"]["phase"], evicted["status"]["reason"]) == ("Failed", "Evicted")
    [replacement] = pods.values()
    assert replacement["spec"]["nodeName"] == "fanout-test-node"


TICKER = """
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
while True:
    print("tick", flush=True)
    time.sleep(0.05)
"""


def test_a_running_pod_can_be_held_and_let_go(server: KubeTestServer, namespace: str) -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "ticker"},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 30,
            "containers": [{"name": "main", "image": "python:3.11", "command": ["python3", "-c", TICKER]}],
        },
    }
    path = f"/api/v1/namespaces/{namespace}/pods"
    assert server.request("POST", path, manifest).status == 201

    def ticks() -> int:
        return server.request("GET", f"{path}/ticker/log").body.count(b"tick")

    server.wait_for("ticks", lambda: ticks() > 2)
    answer = server.control("POST", f"pods/{namespace}/ticker/slow", {"holdSeconds": 600})
    assert answer == {"pod": "ticker", "factor": 1.0, "periodSeconds": 0.1, "holdSeconds": 600.0}
    time.sleep(0.5)  # a line written just before the stop reaches the log
    held = ticks()
    time.sleep(1.5)
    assert ticks() == held, "a held pod prints nothing"
    assert server.request("GET", f"{path}/ticker").json()["status"]["phase"] == "Running"
    server.control("POST", f"pods/{namespace}/ticker/slow", {"factor": 1})
    server.wait_for("ticks again", lambda: ticks() > held + 2)
    assert server.request("POST", f"/__test/pods/{namespace}/nope/slow", {"factor": 2}, token=None).status == 404
    for bad in ({"factor": 0}, {"startDelaySeconds": 1}):
        assert server.request("POST", f"/__test/pods/{namespace}/ticker/slow", bad, token=None).status == 400

    # Held again, then deleted: the SIGTERM reaches the pod once it is continued, and it exits 0 on its own (a
    # pod left stopped would be killed after the grace period, with 137).
    server.control("POST", f"pods/{namespace}/ticker/slow", {"holdSeconds": 600})
    time.sleep(0.5)
    held = ticks()
    time.sleep(0.5)
    assert ticks() == held
    response = server.request("DELETE", f"{path}/ticker")
    assert response.status == 202
    since = response.json()["metadata"]["resourceVersion"]
    last = None
    for event in server.watch(f"{path}?watch=1&resourceVersion={since}&fieldSelector=metadata.name%3Dticker"):
        last = event
        if event["type"] == "DELETED":
            break
    assert last is not None and last["type"] == "DELETED"
    assert last["object"]["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 0


def test_state_and_reset_show_and_clear_the_rules(server: KubeTestServer, namespace: str) -> None:
    server.control("POST", "slow-pods", {"rules": [{"namespace": namespace, "factor": 3, "count": None}]})
    assert server.control("GET", "state")["slowPods"] == [
        {
            "namespace": namespace,
            "selector": "",
            "count": None,
            "factor": 3.0,
            "periodSeconds": 0.1,
            "startDelaySeconds": 0.0,
        }
    ]
    bad = server.request("POST", "/__test/slow-pods", {"selector": "a=b"}, token=None)
    assert bad.status == 400 and "factor" in json.loads(bad.body)["error"]
    server.control("POST", "reset")
    assert server.control("GET", "slow-pods") == {"pending": [], "slowed": []}
