"""Job controller and kubelet semantics, driven through the REST API and the test-control API."""

from __future__ import annotations

import time

from conftest import KubeTestServer, job_manifest


def conditions(job: dict) -> list[tuple[str, str, str]]:
    return [(c["type"], c["status"], c.get("reason", "")) for c in job["status"].get("conditions") or []]


def test_per_index_backoff_fails_only_the_failing_index(server: KubeTestServer, namespace: str) -> None:
    job = job_manifest(
        "per-index",
        'echo "index $JOB_COMPLETION_INDEX"; [ "$JOB_COMPLETION_INDEX" != 1 ]',
        completionMode="Indexed",
        completions=3,
        parallelism=3,
        backoffLimitPerIndex=1,
    )
    created = server.create_job(namespace, job)
    assert created["spec"]["backoffLimit"] == 2147483647
    finished = server.wait_for_condition(namespace, "per-index", "Failed")
    status = finished["status"]
    assert status["failedIndexes"] == "1"
    assert status["completedIndexes"] == "0,2"
    assert status["failed"] == 2  # index 1 ran twice: the first try and one retry
    assert status["succeeded"] == 2
    assert conditions(finished) == [("FailureTarget", "True", "FailedIndexes"), ("Failed", "True", "FailedIndexes")]
    assert "completionTime" not in status
    index_one = server.pods(namespace, "job-name=per-index,batch.kubernetes.io/job-completion-index=1")
    counts = sorted(pod["metadata"]["annotations"]["batch.kubernetes.io/job-index-failure-count"] for pod in index_one)
    assert counts == ["0", "1"]
    assert all(pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 1 for pod in index_one)


def test_max_failed_indexes_fails_the_job_early(server: KubeTestServer, namespace: str) -> None:
    job = job_manifest(
        "max-failed",
        '[ "$JOB_COMPLETION_INDEX" -ge 2 ] || exit 3; sleep 20',
        completionMode="Indexed",
        completions=4,
        parallelism=4,
        backoffLimitPerIndex=0,
        maxFailedIndexes=1,
    )
    server.create_job(namespace, job)
    finished = server.wait_for_condition(namespace, "max-failed", "Failed")
    assert finished["status"]["failedIndexes"] == "0,1"
    assert conditions(finished)[-1] == ("Failed", "True", "MaxFailedIndexesExceeded")
    assert finished["status"].get("active", 0) == 0


def test_pod_failure_policy_ignores_a_disrupted_pod(server: KubeTestServer, namespace: str, tmp_path) -> None:
    marker = tmp_path / "first-run"
    job = job_manifest(
        "disrupted",
        f"if [ -e {marker} ]; then echo second; exit 0; fi; touch {marker}; sleep 30",
        backoffLimit=0,
        podFailurePolicy={
            "rules": [
                {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
                {"action": "FailJob", "onExitCodes": {"operator": "NotIn", "values": [0]}},
            ]
        },
    )
    server.create_job(namespace, job)
    first = server.wait_for(
        "a running pod",
        lambda: [p for p in server.pods(namespace, "job-name=disrupted") if p["status"].get("phase") == "Running"],
    )[0]
    server.control("POST", f"pods/{namespace}/{first['metadata']['name']}/disrupt", {"mode": "evict"})
    finished = server.wait_for_condition(namespace, "disrupted", "Complete")
    assert "failed" not in finished["status"]
    assert finished["status"]["succeeded"] == 1
    pods = {p["metadata"]["name"]: p for p in server.pods(namespace, "job-name=disrupted")}
    evicted = pods[first["metadata"]["name"]]
    assert evicted["status"]["phase"] == "Failed"
    assert evicted["status"]["reason"] == "Evicted"
    target = [c for c in evicted["status"]["conditions"] if c["type"] == "DisruptionTarget"][0]
    assert (target["status"], target["reason"]) == ("True", "TerminationByKubelet")
    assert evicted["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 137
    assert len(pods) == 2


def test_pod_failure_policy_fail_job_on_exit_code(server: KubeTestServer, namespace: str) -> None:
    job = job_manifest(
        "fail-job",
        "exit 42",
        backoffLimit=5,
        podFailurePolicy={
            "rules": [{"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In", "values": [42]}}]
        },
    )
    created = server.create_job(namespace, job)
    assert created["spec"]["podReplacementPolicy"] == "Failed"
    finished = server.wait_for_condition(namespace, "fail-job", "Failed")
    assert conditions(finished) == [
        ("FailureTarget", "True", "PodFailurePolicy"),
        ("Failed", "True", "PodFailurePolicy"),
    ]
    message = finished["status"]["conditions"][-1]["message"]
    assert "failed with exit code 42 matching FailJob rule at index 0" in message
    assert finished["status"]["failed"] == 1


def test_backoff_limit_counts_failures(server: KubeTestServer, namespace: str) -> None:
    server.create_job(namespace, job_manifest("backoff", "exit 1", backoffLimit=1))
    finished = server.wait_for_condition(namespace, "backoff", "Failed")
    assert finished["status"]["failed"] == 2
    assert conditions(finished)[-1] == ("Failed", "True", "BackoffLimitExceeded")
    assert len(server.pods(namespace, "job-name=backoff")) == 2


def test_active_deadline_terminates_running_pods(server: KubeTestServer, namespace: str) -> None:
    server.create_job(
        namespace, job_manifest("deadline", "sleep 30", activeDeadlineSeconds=1, parallelism=2, completions=2)
    )
    finished = server.wait_for_condition(namespace, "deadline", "Failed", timeout=20)
    assert conditions(finished) == [
        ("FailureTarget", "True", "DeadlineExceeded"),
        ("Failed", "True", "DeadlineExceeded"),
    ]
    assert finished["status"].get("active", 0) == 0 and finished["status"]["terminating"] == 0
    server.wait_for("the terminated pods to go", lambda: not server.pods(namespace, "job-name=deadline"))


def test_suspend_and_resume(server: KubeTestServer, namespace: str) -> None:
    server.create_job(namespace, job_manifest("suspended", "echo done", suspend=True))
    job = server.wait_for(
        "the Suspended condition",
        lambda: conditions(server.job(namespace, "suspended")) and server.job(namespace, "suspended"),
    )
    assert conditions(job) == [("Suspended", "True", "JobSuspended")]
    assert "startTime" not in job["status"]
    time.sleep(0.3)
    assert server.pods(namespace, "job-name=suspended") == []
    response = server.request(
        "PATCH",
        f"/apis/batch/v1/namespaces/{namespace}/jobs/suspended",
        {"spec": {"suspend": False}},
        content_type="application/merge-patch+json",
    )
    assert response.status == 200 and response.json()["metadata"]["generation"] == 2
    finished = server.wait_for_condition(namespace, "suspended", "Complete")
    assert ("Suspended", "False", "JobResumed") in conditions(finished)


def test_ttl_after_finished_deletes_the_job_and_its_pods(server: KubeTestServer, namespace: str) -> None:
    server.create_job(namespace, job_manifest("ttl", "true", ttlSecondsAfterFinished=0))
    gone = lambda: server.request("GET", f"/apis/batch/v1/namespaces/{namespace}/jobs/ttl").status == 404  # noqa: E731
    server.wait_for("the job to be deleted", gone)
    server.wait_for("its pods to be deleted", lambda: not server.pods(namespace, "job-name=ttl"))


def test_non_indexed_parallel_job(server: KubeTestServer, namespace: str) -> None:
    created = server.create_job(namespace, job_manifest("parallel", "echo $HOSTNAME", completions=5, parallelism=2))
    assert created["spec"]["completionMode"] == "NonIndexed"
    assert created["spec"]["selector"] == {
        "matchLabels": {"batch.kubernetes.io/controller-uid": created["metadata"]["uid"]}
    }
    finished = server.wait_for_condition(namespace, "parallel", "Complete")
    assert finished["status"]["succeeded"] == 5
    assert "completedIndexes" not in finished["status"]
    pods = server.pods(namespace, "batch.kubernetes.io/job-name=parallel")
    assert len(pods) == 5
    assert all(pod["metadata"]["generateName"] == "parallel-" for pod in pods)


def test_killed_pod_exits_137_and_is_retried(server: KubeTestServer, namespace: str, tmp_path) -> None:
    marker = tmp_path / "ran"
    server.create_job(namespace, job_manifest("killed", f"[ -e {marker} ] && exit 0; touch {marker}; sleep 30"))
    pod = server.wait_for(
        "a running pod",
        lambda: [p for p in server.pods(namespace, "job-name=killed") if p["status"].get("phase") == "Running"],
    )[0]
    assert server.control("POST", f"pods/{namespace}/{pod['metadata']['name']}/kill")["killed"] == ["main"]
    finished = server.wait_for_condition(namespace, "killed", "Complete")
    assert finished["status"]["failed"] == 1 and finished["status"]["succeeded"] == 1
    killed = [p for p in server.pods(namespace, "job-name=killed") if p["metadata"]["name"] == pod["metadata"]["name"]][
        0
    ]
    terminated = killed["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"], killed["status"]["phase"]) == (137, "Error", "Failed")


def test_unschedulable_pods_wait_until_released(server: KubeTestServer, namespace: str) -> None:
    server.control("POST", "scheduling", {"hold": True})
    try:
        server.create_job(namespace, job_manifest("held", "true"))
        pod = server.wait_for(
            "an unschedulable pod",
            lambda: [p for p in server.pods(namespace, "job-name=held") if p["status"].get("conditions")],
        )[0]
        scheduled = pod["status"]["conditions"][0]
        assert (scheduled["type"], scheduled["status"], scheduled["reason"]) == (
            "PodScheduled",
            "False",
            "Unschedulable",
        )
        assert "0/3 nodes are available" in scheduled["message"]
        assert pod["status"]["phase"] == "Pending"
        table = server.kubectl("-n", namespace, "get", "pods").stdout
        assert "Pending" in table
    finally:
        server.control("POST", "scheduling", {"hold": False})
    server.wait_for_condition(namespace, "held", "Complete")


def test_refused_pods_leave_the_job_without_pods_until_allowed(server: KubeTestServer, namespace: str) -> None:
    server.control("POST", "pod-creation", {"refuse": True})
    try:
        server.create_job(namespace, job_manifest("refused", "true", completionMode="Indexed", completions=2))
        events = server.wait_for(
            "a FailedCreate event",
            lambda: [
                event
                for event in server.request("GET", f"/api/v1/namespaces/{namespace}/events").json()["items"]
                if event["reason"] == "FailedCreate" and event["involvedObject"]["name"] == "refused"
            ],
        )
        assert events[0]["type"] == "Warning"
        assert events[0]["message"].startswith('Error creating: pods "refused-0-" is forbidden: failed quota')
        assert len(events) == 1, "one event while the reason stays the same"
        time.sleep(1.5)  # the controller tries again, and is refused again
        job = server.job(namespace, "refused")
        assert server.pods(namespace, "job-name=refused") == []
        assert not job["status"].get("conditions") and not job["status"].get("active")
        assert server.control("GET", "state")["refusingPods"] is True
        described = server.kubectl("-n", namespace, "describe", "job", "refused").stdout
        assert "FailedCreate" in described
    finally:
        server.control("POST", "pod-creation", {"refuse": False})
    server.wait_for_condition(namespace, "refused", "Complete")
    assert server.control("GET", "state")["refusingPods"] is False


def test_env_volumes_init_containers_and_secrets(server: KubeTestServer, namespace: str) -> None:
    secret = {"metadata": {"name": "creds"}, "stringData": {"password": "hunter2"}}
    assert server.request("POST", f"/api/v1/namespaces/{namespace}/secrets", secret).status == 201
    job = job_manifest(
        "configured",
        "cat /work/greeting; echo $POD_NAME $NS $PASSWORD $GREETING; pwd",
        pod_spec={
            "volumes": [{"name": "work", "emptyDir": {}}],
            "initContainers": [
                {
                    "name": "prepare",
                    "image": "busybox",
                    "command": ["sh", "-c", "echo from-init > /work/greeting"],
                    "volumeMounts": [{"name": "work", "mountPath": "/work"}],
                }
            ],
            "containers": [
                {
                    "name": "main",
                    "image": "busybox",
                    "command": ["sh", "-c", "cat /work/greeting; echo $POD_NAME $NS $PASSWORD $GREETING; pwd"],
                    "workingDir": "/work",
                    "volumeMounts": [{"name": "work", "mountPath": "/work"}],
                    "env": [
                        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                        {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                        {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
                        {"name": "GREETING", "value": "hi-$(NS)"},
                    ],
                }
            ],
        },
    )
    server.create_job(namespace, job)
    server.wait_for_condition(namespace, "configured", "Complete")
    pod = server.pods(namespace, "job-name=configured")[0]
    name = pod["metadata"]["name"]
    log = server.request("GET", f"/api/v1/namespaces/{namespace}/pods/{name}/log").body.decode().splitlines()
    assert log[0] == "from-init"
    assert log[1] == f"{name} {namespace} hunter2 hi-{namespace}"
    assert log[2].endswith("/volumes/work")
    assert pod["status"]["initContainerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
    init_log = server.request("GET", f"/api/v1/namespaces/{namespace}/pods/{name}/log?container=prepare")
    assert init_log.status == 200 and init_log.body == b""


def test_graceful_pod_deletion_sends_sigterm(server: KubeTestServer, namespace: str) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "graceful"},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 10,
            "containers": [
                {
                    "name": "main",
                    "image": "busybox",
                    "command": ["sh", "-c", "trap 'echo got TERM; exit 0' TERM; echo up; sleep 30 & wait"],
                }
            ],
        },
    }
    path = f"/api/v1/namespaces/{namespace}/pods"
    assert server.request("POST", path, pod).status == 201
    log_path = f"{path}/graceful/log"
    server.wait_for("the container to start", lambda: server.request("GET", log_path).body == b"up\n")
    response = server.request("DELETE", f"{path}/graceful")
    assert response.status == 202
    marked = response.json()
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 10 and marked["metadata"]["deletionTimestamp"]
    since = marked["metadata"]["resourceVersion"]
    events = server.watch(f"{path}?watch=1&resourceVersion={since}&fieldSelector=metadata.name%3Dgraceful")
    last = None
    for event in events:
        last = event
        if event["type"] == "DELETED":
            break
    final = last["object"]
    assert final["status"]["phase"] == "Succeeded"
    assert final["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 0
    assert server.request("GET", f"{path}/graceful").status == 404


def wait_on_marker(directory) -> str:
    """A command that runs until the file go-INDEX appears in `directory`."""
    return f"while [ ! -e {directory}/go-$JOB_COMPLETION_INDEX ]; do sleep 0.05; done"


def live_pods(server: KubeTestServer, namespace: str, job: str) -> list[dict]:
    return [
        pod
        for pod in server.pods(namespace, f"job-name={job}")
        if pod["status"].get("phase") not in ("Succeeded", "Failed")
    ]


def test_scheduling_capacity_holds_only_the_pods_beyond_it(server: KubeTestServer, namespace: str, tmp_path) -> None:
    server.control("POST", "scheduling", {"hold": True, "capacity": 1})
    try:
        job = job_manifest("capacity", wait_on_marker(tmp_path), completionMode="Indexed", completions=2, parallelism=2)
        server.create_job(namespace, job)
        pods = server.wait_for(
            "one pod running and one held",
            lambda: (
                (pods := server.pods(namespace, "job-name=capacity"))
                and sorted(pod["status"].get("phase") for pod in pods) == ["Pending", "Running"]
                and pods
            ),
        )
        held = next(pod for pod in pods if pod["status"]["phase"] == "Pending")
        assert held["status"]["conditions"][0]["reason"] == "Unschedulable"
        running = next(pod for pod in pods if pod["status"]["phase"] == "Running")
        (tmp_path / f"go-{running['metadata']['annotations']['batch.kubernetes.io/job-completion-index']}").touch()
        server.wait_for(
            "the held pod to run once the first ended",
            lambda: any(
                pod["metadata"]["name"] == held["metadata"]["name"] and pod["status"].get("phase") == "Running"
                for pod in server.pods(namespace, "job-name=capacity")
            ),
        )
        assert server.control("GET", "state")["schedulingCapacity"] == 1
        assert server.request("POST", "/__test/scheduling", {"hold": True, "capacity": -1}, token=None).status == 400
    finally:
        server.control("POST", "scheduling", {"hold": False})
        for index in range(2):
            (tmp_path / f"go-{index}").touch()
    server.wait_for_condition(namespace, "capacity", "Complete")


def test_lowering_parallelism_deletes_pending_pods_first_and_counts_no_failure(
    server: KubeTestServer, namespace: str, tmp_path
) -> None:
    server.control("POST", "scheduling", {"hold": True, "capacity": 1})
    try:
        job = job_manifest(
            "shrink",
            wait_on_marker(tmp_path),
            completionMode="Indexed",
            completions=3,
            parallelism=3,
            backoffLimitPerIndex=0,
        )
        server.create_job(namespace, job)
        pods = server.wait_for(
            "one pod running and two held",
            lambda: (
                (pods := server.pods(namespace, "job-name=shrink"))
                and sorted(pod["status"].get("phase") for pod in pods) == ["Pending", "Pending", "Running"]
                and pods
            ),
        )
        running = next(pod for pod in pods if pod["status"]["phase"] == "Running")
        patched = server.kubectl(
            "-n",
            namespace,
            "patch",
            "job",
            "shrink",
            "--type",
            "merge",
            "-p",
            '{"spec":{"parallelism":1}}',
            "-o",
            "json",
        )
        assert '"parallelism": 1' in patched.stdout
        remaining = server.wait_for(
            "only the running pod to remain",
            lambda: (pods := server.pods(namespace, "job-name=shrink")) and len(pods) == 1 and pods,
        )
        assert remaining[0]["metadata"]["name"] == running["metadata"]["name"]
        job_now = server.job(namespace, "shrink")
        assert job_now["spec"]["parallelism"] == 1
        assert job_now["status"].get("failed", 0) == 0 and job_now["status"]["failedIndexes"] == ""
        index = running["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
        (tmp_path / f"go-{index}").touch()
        server.wait_for(
            "the next index to run",
            lambda: [pod for pod in live_pods(server, namespace, "shrink") if pod["status"].get("phase") == "Running"],
        )
        time.sleep(0.5)
        assert len(live_pods(server, namespace, "shrink")) == 1, "indexes come back only within the new parallelism"
    finally:
        server.control("POST", "scheduling", {"hold": False})
        for index in range(3):
            (tmp_path / f"go-{index}").touch()
    finished = server.wait_for_condition(namespace, "shrink", "Complete")
    assert finished["status"]["completedIndexes"] == "0-2"
    assert finished["status"].get("failed", 0) == 0


def test_lowering_parallelism_of_running_pods_deletes_the_newest(
    server: KubeTestServer, namespace: str, tmp_path
) -> None:
    job = job_manifest(
        "newest",
        wait_on_marker(tmp_path),
        completionMode="Indexed",
        completions=3,
        parallelism=3,
        backoffLimitPerIndex=0,
    )
    server.create_job(namespace, job)
    server.wait_for(
        "three running pods",
        lambda: (
            len([pod for pod in server.pods(namespace, "job-name=newest") if pod["status"].get("phase") == "Running"])
            == 3
        ),
    )
    response = server.request(
        "PATCH",
        f"/apis/batch/v1/namespaces/{namespace}/jobs/newest",
        {"spec": {"parallelism": 2}},
        content_type="application/merge-patch+json",
    )
    assert response.status == 200 and response.json()["spec"]["parallelism"] == 2
    server.wait_for("one pod to go", lambda: len(server.pods(namespace, "job-name=newest")) == 2)
    indexes = sorted(
        pod["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
        for pod in server.pods(namespace, "job-name=newest")
    )
    assert indexes == ["0", "1"], "the newest pod (index 2, created last) is the one deleted"
    for index in range(3):
        (tmp_path / f"go-{index}").touch()
    finished = server.wait_for_condition(namespace, "newest", "Complete")
    assert finished["status"]["completedIndexes"] == "0-2"
    assert finished["status"].get("failed", 0) == 0 and finished["status"]["failedIndexes"] == ""


def test_pods_whose_node_selector_or_affinity_no_node_matches_stay_pending(
    server: KubeTestServer, namespace: str
) -> None:
    far = job_manifest("far", "true")
    far["spec"]["template"]["spec"]["nodeSelector"] = {"topology.kubernetes.io/zone": "zone-nobody-has"}
    near = job_manifest("near", "true")
    near["spec"]["template"]["spec"]["affinity"] = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["x"]}]},
                    {
                        "matchExpressions": [
                            {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["test-standard"]},
                            {"key": "kubernetes.io/os", "operator": "Exists"},
                        ]
                    },
                ]
            }
        }
    }
    server.create_job(namespace, far)
    server.create_job(namespace, near)
    server.wait_for_condition(namespace, "near", "Complete")
    pod = server.wait_for(
        "an unschedulable pod",
        lambda: [p for p in server.pods(namespace, "job-name=far") if p["status"].get("conditions")],
    )[0]
    scheduled = pod["status"]["conditions"][0]
    assert (scheduled["type"], scheduled["status"], scheduled["reason"]) == ("PodScheduled", "False", "Unschedulable")
    assert "didn't match Pod's node affinity/selector" in scheduled["message"]
    assert pod["status"]["phase"] == "Pending" and not pod["spec"].get("nodeName")


def test_a_pod_asking_for_an_extended_resource_the_node_lacks_stays_pending(
    server: KubeTestServer, namespace: str
) -> None:
    gpu = job_manifest("gpu", "true")
    gpu["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"nvidia.com/gpu": "1"}}
    server.create_job(namespace, gpu)
    pod = server.wait_for(
        "an unschedulable pod",
        lambda: [p for p in server.pods(namespace, "job-name=gpu") if p["status"].get("conditions")],
    )[0]
    scheduled = pod["status"]["conditions"][0]
    assert (scheduled["reason"], scheduled["message"]) == (
        "Unschedulable",
        "0/1 nodes are available: 1 Insufficient nvidia.com/gpu.",
    )
