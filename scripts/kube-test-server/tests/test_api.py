"""The REST mechanics: Status errors, selectors, pagination, watches (410, bookmarks), faults, request counts, logs."""

from __future__ import annotations

import http.client
import subprocess
import textwrap
import time
import urllib.parse
import urllib.request

import pytest
from conftest import KubeTestServer, job_manifest

from indexes import format_indexes, parse_indexes

JOBS = "/apis/batch/v1/namespaces/{ns}/jobs"


def suspended_job(name: str, **labels: str) -> dict:
    job = job_manifest(name, "true", suspend=True)
    job["metadata"]["labels"] = labels
    return job


def test_index_formatting() -> None:
    assert format_indexes([1, 3, 4, 5, 7]) == "1,3-5,7"
    assert format_indexes([2, 3]) == "2,3"
    assert format_indexes([5, 0, 1, 2, 2]) == "0-2,5"
    assert format_indexes([]) == ""
    assert parse_indexes("1,3-5,7") == [1, 3, 4, 5, 7]
    with pytest.raises(ValueError):
        parse_indexes("3,1")
    with pytest.raises(ValueError):
        parse_indexes("0-9", limit=5)


def test_status_errors(server: KubeTestServer, namespace: str) -> None:
    path = JOBS.format(ns=namespace)
    assert server.request("POST", path, suspended_job("twice")).status == 201
    conflict = server.request("POST", path, suspended_job("twice"))
    assert conflict.status == 409
    assert conflict.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'jobs.batch "twice" already exists',
        "reason": "AlreadyExists",
        "details": {"name": "twice", "group": "batch", "kind": "jobs"},
        "code": 409,
    }
    missing = server.request("GET", f"{path}/nope").json()
    assert (missing["code"], missing["reason"], missing["message"]) == (404, "NotFound", 'jobs.batch "nope" not found')

    invalid = job_manifest("bad", "true", completionMode="Indexed", parallelism=2, backoffLimitPerIndex=-1)
    invalid["spec"]["podFailurePolicy"] = {
        "rules": [{"action": "FailIndex", "onExitCodes": {"operator": "In", "values": [3, 0, 1]}}]
    }
    body = server.request("POST", path, invalid).json()
    assert (body["code"], body["reason"], body["details"]["kind"]) == (422, "Invalid", "Job")
    fields = {cause["field"]: cause["reason"] for cause in body["details"]["causes"]}
    assert fields["spec.completions"] == "FieldValueRequired"
    assert fields["spec.backoffLimitPerIndex"] == "FieldValueInvalid"
    assert fields["spec.podFailurePolicy.rules[0].onExitCodes.values[1]"] == "FieldValueInvalid"
    assert body["message"].startswith('Job.batch "bad" is invalid: [')

    assert server.request("GET", f"{path}?labelSelector=a%20in%20(", token="test-token").status == 400
    assert server.request("POST", path, b"{not json").status == 400


def test_dry_run_does_not_persist(server: KubeTestServer, namespace: str) -> None:
    path = JOBS.format(ns=namespace)
    response = server.request("POST", f"{path}?dryRun=All", job_manifest("dry", "true"))
    assert response.status == 201
    assert response.json()["spec"]["backoffLimit"] == 6
    assert server.request("GET", f"{path}/dry").status == 404


def test_label_selectors(server: KubeTestServer, namespace: str) -> None:
    path = JOBS.format(ns=namespace)
    for name, labels in (("a", {"tier": "web", "team": "x"}), ("b", {"tier": "db"}), ("c", {"team": "y"})):
        assert server.request("POST", path, suspended_job(name, **labels)).status == 201

    def names(selector: str) -> list[str]:
        response = server.request("GET", f"{path}?labelSelector={urllib.parse.quote(selector)}")
        return [item["metadata"]["name"] for item in response.json()["items"]]

    assert names("tier=web") == ["a"]
    assert names("tier!=web") == ["b", "c"]
    assert names("tier in (web,db)") == ["a", "b"]
    assert names("team") == ["a", "c"]
    assert names("!team") == ["b"]
    assert names("tier notin (web),team") == ["c"]


def test_pagination_and_expired_continue(server: KubeTestServer, namespace: str) -> None:
    path = JOBS.format(ns=namespace)
    for index in range(5):
        assert server.request("POST", path, suspended_job(f"page-{index}")).status == 201
    seen, token, pages = [], "", 0
    while True:
        query = "?limit=2" + (f"&continue={urllib.parse.quote(token)}" if token else "")
        body = server.request("GET", path + query).json()
        seen += [item["metadata"]["name"] for item in body["items"]]
        pages += 1
        token = body["metadata"].get("continue", "")
        if not token:
            assert "remainingItemCount" not in body["metadata"]
            break
        assert body["metadata"]["remainingItemCount"] == 5 - len(seen)
    assert seen == [f"page-{index}" for index in range(5)] and pages == 3

    first = server.request("GET", path + "?limit=2").json()
    server.control("POST", "expire")
    expired = server.request("GET", f"{path}?limit=2&continue={urllib.parse.quote(first['metadata']['continue'])}")
    assert expired.status == 410 and expired.json()["reason"] == "Expired"

    table = server.kubectl("-n", namespace, "get", "jobs", "--chunk-size=2").stdout
    assert len(table.strip().splitlines()) == 6


def test_watch_gets_410_then_relists(server: KubeTestServer, namespace: str) -> None:
    path = JOBS.format(ns=namespace)
    assert server.request("POST", path, suspended_job("watched")).status == 201
    old_rv = server.request("GET", path).json()["metadata"]["resourceVersion"]
    server.control("POST", "expire")
    events = list(server.watch(f"{path}?watch=1&resourceVersion={old_rv}"))
    assert len(events) == 1 and events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")

    # Re-list, then watch from the list's resourceVersion: only later events arrive.
    listed = server.request("GET", path).json()
    stream = server.watch(
        f"{path}?watch=true&resourceVersion={listed['metadata']['resourceVersion']}&allowWatchBookmarks=true"
    )
    assert server.request("POST", path, suspended_job("later")).status == 201
    kinds = []
    for event in stream:
        kinds.append(event["type"])
        if event["type"] == "ADDED":
            assert event["object"]["metadata"]["name"] == "later"
        if "BOOKMARK" in kinds and "ADDED" in kinds:
            break
    assert kinds.count("ADDED") == 1


def test_watch_without_resource_version_and_bookmarks(server: KubeTestServer, namespace: str) -> None:
    path = JOBS.format(ns=namespace)
    for name in ("one", "two"):
        assert server.request("POST", path, suspended_job(name)).status == 201
    stream = server.watch(f"{path}?watch=1&allowWatchBookmarks=true&fieldSelector=metadata.name%3Dtwo&timeoutSeconds=10")
    first = next(stream)
    assert (first["type"], first["object"]["metadata"]["name"], first["object"]["kind"]) == ("ADDED", "two", "Job")
    bookmark = next(stream)
    assert bookmark["type"] == "BOOKMARK"
    assert set(bookmark["object"]) == {"kind", "apiVersion", "metadata"}
    assert int(bookmark["object"]["metadata"]["resourceVersion"]) >= int(first["object"]["metadata"]["resourceVersion"])
    server.request("DELETE", f"{path}/two", {"propagationPolicy": "Background"})
    deleted = next((event for event in stream if event["type"] == "DELETED"), None)
    assert deleted is not None and deleted["object"]["metadata"]["name"] == "two"


def test_watch_timeout_and_dropped_streams(server: KubeTestServer, namespace: str) -> None:
    path = JOBS.format(ns=namespace)
    started = time.time()
    assert list(server.watch(f"{path}?watch=1&timeoutSeconds=1")) == []
    assert 0.9 <= time.time() - started < 5

    stream = server.watch(f"{path}?watch=1")
    server.wait_for("the watch to register", lambda: server.control("POST", "watches/drop")["dropped"] >= 1)
    assert list(stream) == []

    # An abrupt drop closes the connection without the final chunk: the reader sees a truncated body.
    request = urllib.request.Request(f"{server.http_url}{path}?watch=1", headers={"Authorization": "Bearer test-token"})
    with urllib.request.urlopen(request, timeout=15) as response:
        server.wait_for(
            "the watch to register", lambda: server.control("POST", "watches/drop", {"abrupt": True})["dropped"]
        )
        with pytest.raises(http.client.IncompleteRead):
            response.read()


def test_faults_and_request_counts(server: KubeTestServer, namespace: str) -> None:
    path = JOBS.format(ns=namespace)
    server.control("POST", "requests/reset")
    server.control("POST", "faults", {"status": 429, "count": 1, "verb": "list", "resource": "jobs", "retryAfter": 2})
    throttled = server.request("GET", path)
    assert throttled.status == 429 and throttled.headers["Retry-After"] == "2"
    assert throttled.json()["reason"] == "TooManyRequests"
    assert server.request("GET", path).status == 200

    server.control("POST", "faults", {"status": 500, "count": 2, "verb": "create"})
    assert server.request("POST", path, suspended_job("flaky")).json()["code"] == 500
    # The rule answers exactly `count` requests, then is used up.
    assert server.request("POST", path, suspended_job("flaky")).status == 500
    assert server.request("POST", path, suspended_job("flaky")).status == 201

    # client-go retries 429 with Retry-After by itself.
    server.control("POST", "faults", {"status": 429, "count": 2, "verb": "get", "resource": "jobs", "retryAfter": 1})
    assert "flaky" in server.kubectl("-n", namespace, "get", "job", "flaky").stdout

    # A 422 is an Invalid Status carrying the rule's message, as validation answers.
    server.control("POST", "faults", {"status": 422, "verb": "create", "message": 'Unsupported value: "FailIndex"'})
    invalid = server.request("POST", path, suspended_job("rejected")).json()
    assert (invalid["code"], invalid["reason"], invalid["message"]) == (422, "Invalid", 'Unsupported value: "FailIndex"')

    counts = server.control("GET", "requests")
    assert counts["list jobs"] == 2
    assert counts["create jobs"] == 4
    assert counts["get jobs"] == 3
    server.control("POST", "requests/reset")
    assert server.control("GET", "requests") == {}


def test_delete_propagation(server: KubeTestServer, namespace: str) -> None:
    path = JOBS.format(ns=namespace)
    server.create_job(namespace, job_manifest("orphaned", "true"))
    server.wait_for_condition(namespace, "orphaned", "Complete")
    response = server.request("DELETE", f"{path}/orphaned")
    assert response.status == 200
    assert "child pods are preserved" in response.headers["Warning"]
    pods = server.pods(namespace, "job-name=orphaned")
    assert len(pods) == 1 and "ownerReferences" not in pods[0]["metadata"]

    server.create_job(namespace, job_manifest("foreground", "sleep 30"))
    server.wait_for(
        "a running pod",
        lambda: [p for p in server.pods(namespace, "job-name=foreground") if p["status"].get("phase") == "Running"],
    )
    response = server.request("DELETE", f"{path}/foreground", {"propagationPolicy": "Foreground"})
    assert response.status == 202
    assert "foregroundDeletion" in response.json()["metadata"]["finalizers"]
    server.wait_for("the job to go", lambda: server.request("GET", f"{path}/foreground").status == 404)
    assert server.pods(namespace, "job-name=foreground") == []


def test_pod_logs_options(server: KubeTestServer, namespace: str) -> None:
    server.create_job(namespace, job_manifest("logs", "for i in 1 2 3 4 5; do echo line$i; done"))
    server.wait_for_condition(namespace, "logs", "Complete")
    pod = server.pods(namespace, "job-name=logs")[0]["metadata"]["name"]
    base = f"/api/v1/namespaces/{namespace}/pods/{pod}/log"
    assert server.request("GET", base).body == b"line1\nline2\nline3\nline4\nline5\n"
    assert server.request("GET", base + "?tailLines=2").body == b"line4\nline5\n"
    assert server.request("GET", base + "?limitBytes=8").body == b"line1\nli"
    assert server.request("GET", base + "?container=main&timestamps=true").body.split(b" ", 1)[1].startswith(b"line1")
    previous = server.request("GET", base + "?previous=true")
    assert previous.status == 400 and "previous terminated container" in previous.json()["message"]
    assert server.request("GET", base + "?container=other").status == 400
    assert server.request("GET", f"/api/v1/namespaces/{namespace}/pods/nope/log").status == 404
    assert server.kubectl("-n", namespace, "logs", pod, "--tail=1").stdout == "line5\n"


def test_manifest_checked_by_kubernetes_validate_is_accepted(server: KubeTestServer, namespace: str, tmp_path) -> None:
    manifest = textwrap.dedent(
        """\
        apiVersion: batch/v1
        kind: Job
        metadata:
          name: validated
          labels: {app: fanout}
        spec:
          completionMode: Indexed
          completions: 4
          parallelism: 2
          backoffLimitPerIndex: 1
          maxFailedIndexes: 2
          activeDeadlineSeconds: 120
          ttlSecondsAfterFinished: 600
          podFailurePolicy:
            rules:
            - action: Ignore
              onPodConditions:
              - type: DisruptionTarget
                status: "True"
            - action: FailIndex
              onExitCodes:
                containerName: worker
                operator: In
                values: [3]
          template:
            metadata:
              labels: {app: fanout}
            spec:
              restartPolicy: Never
              volumes:
              - name: scratch
                emptyDir: {}
              containers:
              - name: worker
                image: ghcr.io/example/fanout-worker:1.0
                command: ["sh", "-c"]
                args: ["echo shard $JOB_COMPLETION_INDEX > /scratch/out && cat /scratch/out"]
                env:
                - name: FANOUT_SHARD_COUNT
                  value: "4"
                volumeMounts:
                - name: scratch
                  mountPath: /scratch
                resources:
                  requests: {cpu: 100m, memory: 64Mi}
        """
    )
    path = tmp_path / "job.yaml"
    path.write_text(manifest)
    checked = subprocess.run(
        ["kubernetes-validate", "--strict", "-k", "1.29.0", str(path)], capture_output=True, text=True
    )
    if checked.returncode == 127:
        pytest.skip("kubernetes-validate is not installed")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    server.kubectl("-n", namespace, "create", "-f", str(path))
    job = server.wait_for_condition(namespace, "validated", "Complete")
    assert job["status"]["completedIndexes"] == "0-3"
    assert job["status"]["failedIndexes"] == ""
    logs = server.kubectl("-n", namespace, "logs", "-l", "job-name=validated").stdout
    assert sorted(logs.split("\n")[:-1]) == [f"shard {index}" for index in range(4)]


def test_denied_verbs_are_forbidden_and_access_reviews_say_so(server: KubeTestServer, namespace: str) -> None:
    server.control("POST", "rbac", {"deny": [{"verb": "create", "resource": "jobs"}]})
    try:
        denied = server.kubectl("-n", namespace, "auth", "can-i", "create", "jobs.batch", check=False)
        assert denied.stdout.strip().startswith("no")
        allowed = server.kubectl("-n", namespace, "auth", "can-i", "watch", "pods", check=False)
        assert allowed.stdout.strip() == "yes"
        created = server.kubectl(
            "-n", namespace, "create", "job", "refused", "--image=busybox", "--", "true", check=False
        )
        assert created.returncode != 0
        assert 'cannot create resource "jobs" in API group "batch"' in created.stderr
    finally:
        server.control("POST", "rbac", {"deny": []})
