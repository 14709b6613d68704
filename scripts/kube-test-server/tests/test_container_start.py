"""Containers that cannot start: a missing Secret or key, an image that cannot be pulled, an invalid image name.

What a real kubelet shows: the pod stays Pending, its container waiting with the reason and message, and Warning
events say why; the pod starts once the cause is gone (a Secret created).
"""

from __future__ import annotations

import json
from typing import Any

from conftest import KubeTestServer, job_manifest
from images import invalid_reason, normalized, pull_error


def pod_json(server: KubeTestServer, namespace: str, job: str) -> dict[str, Any]:
    """The Job's one pod, as `kubectl get pod -o json` shows it."""
    listed = server.kubectl("-n", namespace, "get", "pods", "-l", f"job-name={job}", "-o", "json").stdout
    items = json.loads(listed)["items"]
    assert len(items) == 1, items
    return items[0]


def waiting_state(
    server: KubeTestServer, namespace: str, job: str, reason: str, *, kubectl: bool = True
) -> dict[str, Any]:
    """The Job's pod once its container waits with `reason`: as kubectl shows it then, or (for states that change
    on their own) as the API answered when it had that reason."""

    def check() -> dict[str, Any] | None:
        pods = server.pods(namespace, f"job-name={job}")
        for pod in pods:
            for status in pod.get("status", {}).get("containerStatuses") or []:
                if (status.get("state", {}).get("waiting") or {}).get("reason") == reason:
                    return pod
        return None

    pod = server.wait_for(f"a container of {job} waiting with {reason}", check)
    return pod_json(server, namespace, job) if kubectl else pod


def events(server: KubeTestServer, namespace: str, pod: str) -> list[tuple[str, str, str]]:
    items = server.request("GET", f"/api/v1/namespaces/{namespace}/events").json()["items"]
    return [(e["type"], e["reason"], e["message"]) for e in items if e["involvedObject"]["name"] == pod]


def with_container(name: str, container: dict[str, Any]) -> dict[str, Any]:
    base = {"name": "main", "image": "busybox", "command": ["sh", "-c", "echo started"]}
    return job_manifest(name, "true", pod_spec={"containers": [{**base, **container}]})


def test_missing_secret_keeps_the_pod_pending_until_it_is_created(server: KubeTestServer, namespace: str) -> None:
    server.create_job(namespace, with_container("nosecret", {"envFrom": [{"secretRef": {"name": "s3-creds"}}]}))
    pod = waiting_state(server, namespace, "nosecret", "CreateContainerConfigError")
    status = pod["status"]
    assert status["phase"] == "Pending"
    waiting = status["containerStatuses"][0]["state"]["waiting"]
    assert waiting == {"reason": "CreateContainerConfigError", "message": 'secret "s3-creds" not found'}
    name = pod["metadata"]["name"]
    assert ("Warning", "Failed", 'Error: secret "s3-creds" not found') in events(server, namespace, name)
    table = server.kubectl("-n", namespace, "get", "pods").stdout
    assert "CreateContainerConfigError" in table
    server.kubectl("-n", namespace, "create", "secret", "generic", "s3-creds", "--from-literal=KEY=value")
    server.wait_for_condition(namespace, "nosecret", "Complete")


def test_missing_secret_key_names_the_key(server: KubeTestServer, namespace: str) -> None:
    server.kubectl("-n", namespace, "create", "secret", "generic", "partial", "--from-literal=other=x")
    reference = {"secretKeyRef": {"name": "partial", "key": "token"}}
    server.create_job(namespace, with_container("nokey", {"env": [{"name": "TOKEN", "valueFrom": reference}]}))
    pod = waiting_state(server, namespace, "nokey", "CreateContainerConfigError")
    waiting = pod["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting["message"] == f"couldn't find key token in Secret {namespace}/partial"
    missing = {"secretKeyRef": {"name": "absent", "key": "token"}}
    server.create_job(namespace, with_container("nosecret2", {"env": [{"name": "TOKEN", "valueFrom": missing}]}))
    pod = waiting_state(server, namespace, "nosecret2", "CreateContainerConfigError")
    assert pod["status"]["containerStatuses"][0]["state"]["waiting"]["message"] == 'secret "absent" not found'


def test_unpullable_image_alternates_err_image_pull_and_back_off(server: KubeTestServer, namespace: str) -> None:
    image = "registry.invalid/team/worker:1.0"
    server.create_job(namespace, with_container("nopull", {"image": image}))
    pod = waiting_state(server, namespace, "nopull", "ErrImagePull", kubectl=False)
    assert pod["status"]["phase"] == "Pending"
    message = pod["status"]["containerStatuses"][0]["state"]["waiting"]["message"]
    assert message.startswith('rpc error: code = Unknown desc = failed to pull and unpack image "registry.invalid/')
    assert "no such host" in message
    pod = waiting_state(server, namespace, "nopull", "ImagePullBackOff", kubectl=False)
    waiting = pod["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting == {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{image}"'}
    seen = events(server, namespace, pod["metadata"]["name"])
    assert ("Normal", "Pulling", f'Pulling image "{image}"') in seen
    assert ("Warning", "Failed", "Error: ErrImagePull") in seen
    assert ("Normal", "BackOff", f'Back-off pulling image "{image}"') in seen
    assert any(kind == "Warning" and text.startswith(f'Failed to pull image "{image}": ') for kind, _, text in seen)
    assert server.job(namespace, "nopull")["status"].get("active") == 1
    shown = pod_json(server, namespace, "nopull")["status"]["containerStatuses"][0]["state"]["waiting"]
    assert shown["reason"] in ("ErrImagePull", "ImagePullBackOff")


def test_invalid_image_name(server: KubeTestServer, namespace: str) -> None:
    server.create_job(namespace, with_container("badname", {"image": "Worker:Latest!"}))
    pod = waiting_state(server, namespace, "badname", "InvalidImageName")
    waiting = pod["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting["message"] == (
        'Failed to apply default image tag "Worker:Latest!": couldn\'t parse image reference "Worker:Latest!": '
        "invalid reference format"
    )
    seen = events(server, namespace, pod["metadata"]["name"])
    assert ("Warning", "InspectFailed", waiting["message"]) in seen
    described = server.kubectl("-n", namespace, "describe", "pod", pod["metadata"]["name"]).stdout
    assert "InvalidImageName" in described


def test_a_pod_that_cannot_start_is_deleted_promptly(server: KubeTestServer, namespace: str) -> None:
    server.create_job(namespace, with_container("stuck", {"image": "registry.invalid/x:1"}))
    waiting_state(server, namespace, "stuck", "ErrImagePull", kubectl=False)
    server.kubectl("-n", namespace, "delete", "job", "stuck", "--cascade=background", "--wait=false")
    server.wait_for("the pod gone", lambda: server.pods(namespace, "job-name=stuck") == [], timeout=10)


def test_image_references() -> None:
    for image in ["busybox", "curlimages/curl:8.11.1", "swift:6.0-slim", "localhost:5000/a/b@sha256:" + "a" * 64]:
        assert invalid_reason(image) is None, image
    for image in ["Busybox", "a b", "x:", "x::1", ":tag", "repo/-x"]:
        assert invalid_reason(image) is not None, image
    assert normalized("busybox") == "docker.io/library/busybox:latest"
    assert normalized("team/app:2") == "docker.io/team/app:2"
    assert normalized("ghcr.io/team/app") == "ghcr.io/team/app:latest"
    assert pull_error("ghcr.io/team/app") is None
    assert pull_error("example.invalid:5000/app") is not None
