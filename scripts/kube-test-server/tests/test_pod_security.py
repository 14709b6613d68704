"""Pod Security admission: a namespace labelled `pod-security.kubernetes.io/enforce` refuses the pods that violate its
level, with the real API server's messages, and the Job controller's pods are refused the same way."""

from __future__ import annotations

import json
import textwrap
from typing import Any

import podsecurity
from conftest import KubeTestServer, job_manifest

PODS = "/api/v1/namespaces/{ns}/pods"

# What a real 1.32 API server answers for a pod with one container "c" and no security context at all.
PLAIN_POD_VIOLATIONS = (
    'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), '
    'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), '
    'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), '
    'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or '
    '"Localhost")'
)

RESTRICTED_POD_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": 65532,
    "runAsGroup": 65532,
    "seccompProfile": {"type": "RuntimeDefault"},
}
RESTRICTED_CONTAINER_SECURITY = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def labelled_namespace(server: KubeTestServer, name: str, **labels: str) -> None:
    prefixed = {f"pod-security.kubernetes.io/{key.replace('_', '-')}": value for key, value in labels.items()}
    metadata = {"name": name, "labels": prefixed}
    response = server.request("POST", "/api/v1/namespaces", {"metadata": metadata})
    assert response.status == 201, response.body


def pod(name: str, command: str = "true", **spec: Any) -> dict[str, Any]:
    container = {"name": "c", "image": "busybox", "command": ["sh", "-c", command]}
    container.update(spec.pop("container", {}))
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"restartPolicy": "Never", "containers": [container], **spec},
    }


def restricted_pod(name: str, command: str = "true") -> dict[str, Any]:
    return pod(
        name,
        command,
        securityContext=RESTRICTED_POD_SECURITY,
        container={"securityContext": RESTRICTED_CONTAINER_SECURITY},
        volumes=[{"name": "scratch", "emptyDir": {}}],
    )


def failed_creates(server: KubeTestServer, namespace: str, job: str) -> list[dict[str, Any]]:
    items = server.request("GET", f"/api/v1/namespaces/{namespace}/events").json()["items"]
    return [e for e in items if e["reason"] == "FailedCreate" and e["involvedObject"]["name"] == job]


def test_a_restricted_namespace_refuses_a_plain_pod_with_403_and_the_real_message(
    server: KubeTestServer, namespace: str
) -> None:
    labelled_namespace(server, namespace, enforce="restricted")
    response = server.request("POST", PODS.format(ns=namespace), pod("plain"))
    assert response.status == 403
    body = response.json()
    assert body["message"] == (
        f'pods "plain" is forbidden: violates PodSecurity "restricted:latest": {PLAIN_POD_VIOLATIONS}'
    )
    assert (body["reason"], body["code"], body["details"]) == ("Forbidden", 403, {"name": "plain", "kind": "pods"})
    assert server.request("GET", f"{PODS.format(ns=namespace)}/plain").status == 404
    # A dry run is admitted the same way.
    assert server.request("POST", PODS.format(ns=namespace) + "?dryRun=All", pod("plain")).status == 403


def test_a_restricted_pod_is_admitted_and_runs(server: KubeTestServer, namespace: str) -> None:
    labelled_namespace(server, namespace, enforce="restricted", enforce_version="v1.32")
    response = server.request("POST", PODS.format(ns=namespace), restricted_pod("hardened", "echo ok"))
    assert response.status == 201, response.body
    assert "Warning" not in response.headers
    server.wait_for(
        "the pod to succeed",
        lambda: server.request("GET", f"{PODS.format(ns=namespace)}/hardened").json()["status"].get("phase")
        == "Succeeded",
    )


def test_root_and_forbidden_settings_are_each_named(server: KubeTestServer, namespace: str) -> None:
    labelled_namespace(server, namespace, enforce="restricted", enforce_version="v1.30")
    root = pod(
        "root",
        securityContext={"runAsNonRoot": False, "runAsUser": 0, "seccompProfile": {"type": "Unconfined"}},
        hostNetwork=True,
        container={
            "securityContext": {
                "capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN", "NET_BIND_SERVICE"]},
                "privileged": True,
            }
        },
        volumes=[{"name": "host", "hostPath": {"path": "/"}}, {"name": "tmp", "emptyDir": {}}],
    )
    response = server.request("POST", PODS.format(ns=namespace), root)
    assert response.status == 403
    assert response.json()["message"] == (
        'pods "root" is forbidden: violates PodSecurity "restricted:v1.30": '
        "host namespaces (hostNetwork), "
        'privileged (container "c" must not set securityContext.privileged=true), '
        'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), '
        'unrestricted capabilities (container "c" must not include "SYS_ADMIN" in securityContext.capabilities.add), '
        'restricted volume types (volumes ["host"] have restricted types), '
        "runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false), "
        "runAsUser=0 (pod must not set runAsUser=0), "
        'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")'
    )


def test_baseline_allows_a_plain_pod_but_not_host_access(server: KubeTestServer, namespace: str) -> None:
    labelled_namespace(server, namespace, enforce="baseline")
    assert server.request("POST", PODS.format(ns=namespace), pod("plain")).status == 201
    host = pod(
        "host",
        hostPID=True,
        container={"securityContext": {"capabilities": {"add": ["NET_RAW"]}}},
        volumes=[{"name": "root", "hostPath": {"path": "/"}}],
    )
    response = server.request("POST", PODS.format(ns=namespace), host)
    assert response.status == 403
    assert response.json()["message"] == (
        'pods "host" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostPID), '
        'non-default capabilities (container "c" must not include "NET_RAW" in securityContext.capabilities.add), '
        'hostPath volumes (volume "root")'
    )


def test_privileged_unlabelled_and_unparsable_levels(server: KubeTestServer, namespace: str) -> None:
    labelled_namespace(server, namespace, enforce="privileged")
    privileged = pod("anything", hostNetwork=True, container={"securityContext": {"privileged": True}})
    assert server.request("POST", PODS.format(ns=namespace), privileged).status == 201
    # A namespace without the label is privileged; one whose label does not parse is treated as restricted.
    assert podsecurity.level_version({}, "enforce") == podsecurity.LevelVersion("privileged")
    assert podsecurity.level_version({"pod-security.kubernetes.io/enforce": "strict"}, "enforce").level == "restricted"
    assert podsecurity.level_version({"pod-security.kubernetes.io/enforce-version": "1.29"}, "enforce").version == (
        "latest"
    )


def test_the_job_controller_is_refused_violating_pods_until_the_namespace_allows_them(
    server: KubeTestServer, namespace: str
) -> None:
    labelled_namespace(server, namespace, enforce="restricted")
    job = job_manifest("psa", "true", completionMode="Indexed", completions=2)
    job["spec"]["template"]["spec"]["containers"][0]["name"] = "c"
    server.create_job(namespace, job)
    events = server.wait_for("a FailedCreate event", lambda: failed_creates(server, namespace, "psa"))
    assert events[0]["type"] == "Warning"
    assert events[0]["message"] == (
        f'Error creating: pods "psa-0-" is forbidden: violates PodSecurity "restricted:latest": {PLAIN_POD_VIOLATIONS}'
    )
    assert server.pods(namespace, "job-name=psa") == []
    assert not server.job(namespace, "psa")["status"].get("conditions")
    described = server.kubectl("-n", namespace, "describe", "job", "psa").stdout
    assert "FailedCreate" in described and "violates PodSecurity" in described
    # The controller keeps trying: once the namespace allows the pods, the Job runs.
    server.kubectl("label", "namespace", namespace, "--overwrite", "pod-security.kubernetes.io/enforce=baseline")
    server.wait_for_condition(namespace, "psa", "Complete")
    assert len(failed_creates(server, namespace, "psa")) == 1, "one event while the reason stays the same"


def test_a_job_whose_pods_comply_runs_in_a_restricted_namespace(server: KubeTestServer, namespace: str) -> None:
    labelled_namespace(server, namespace, enforce="restricted")
    job = job_manifest("hardened", "true", completionMode="Indexed", completions=2)
    template = job["spec"]["template"]["spec"]
    template["securityContext"] = RESTRICTED_POD_SECURITY
    template["containers"][0]["securityContext"] = RESTRICTED_CONTAINER_SECURITY
    server.create_job(namespace, job)
    server.wait_for_condition(namespace, "hardened", "Complete")
    assert failed_creates(server, namespace, "hardened") == []


def test_the_warn_level_warns_of_violating_pods_and_job_templates(server: KubeTestServer, namespace: str) -> None:
    labelled_namespace(server, namespace, warn="restricted")
    response = server.request("POST", f"/apis/batch/v1/namespaces/{namespace}/jobs", job_manifest("warned", "true"))
    assert response.status == 201
    assert response.headers["Warning"].startswith('299 - "would violate PodSecurity \\"restricted:latest\\": ')
    response = server.request("POST", PODS.format(ns=namespace), pod("warned"))
    assert response.status == 201
    assert "allowPrivilegeEscalation != false" in response.headers["Warning"]


def test_kubectl_label_warns_of_existing_pods_and_apply_is_refused(server: KubeTestServer, namespace: str) -> None:
    server.kubectl("create", "namespace", namespace)
    server.kubectl("-n", namespace, "apply", "-f", "-", input=json.dumps(pod("early", "sleep 30")))
    labelled = server.kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")
    assert f'Warning: existing pods in namespace "{namespace}" violate the new PodSecurity enforce level ' in (
        labelled.stderr
    )
    assert (
        "Warning: early: allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, "
        "seccompProfile" in labelled.stderr
    ), labelled.stderr
    manifest = textwrap.dedent(
        """\
        apiVersion: v1
        kind: Pod
        metadata:
          name: late
        spec:
          restartPolicy: Never
          containers:
          - name: c
            image: busybox
            command: ["true"]
        """
    )
    refused = server.kubectl("-n", namespace, "apply", "-f", "-", input=manifest, check=False)
    assert refused.returncode != 0
    assert "Error from server (Forbidden)" in refused.stderr
    expected = f'pods "late" is forbidden: violates PodSecurity "restricted:latest": {PLAIN_POD_VIOLATIONS}'
    assert expected in refused.stderr, refused.stderr
    hardened = server.kubectl("-n", namespace, "apply", "-f", "-", input=json.dumps(restricted_pod("late")))
    assert "pod/late created" in hardened.stdout
