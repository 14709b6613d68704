"""The real kubectl against the server: discovery, auth, create/wait/get/logs/delete of an Indexed Job."""

from __future__ import annotations

import json
import textwrap

import pytest
from conftest import KubeTestServer, kubectl_binary

INDEXED_JOB = textwrap.dedent(
    """\
    apiVersion: batch/v1
    kind: Job
    metadata:
      name: {name}
    spec:
      completionMode: Indexed
      completions: 3
      parallelism: 2
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: main
            image: busybox
            command: ["sh", "-c", "echo index $JOB_COMPLETION_INDEX"]
    """
)


def test_get_jobs_with_token_and_certificate_contexts(server: KubeTestServer, namespace: str) -> None:
    for context in ("token", "cert"):
        result = server.kubectl("-n", namespace, "get", "jobs", context=context)
        assert "No resources found" in result.stderr
    version = json.loads(server.kubectl("version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"] == "v1.32.0"


def test_tls_server_name_verifies_a_certificate_that_does_not_name_the_address(
    server: KubeTestServer, namespace: str, tmp_path
) -> None:
    # The "named" context reaches 127.0.0.1, whose certificate names only kubernetes.default.svc.
    result = server.kubectl("-n", namespace, "get", "pods", context="named")
    assert "No resources found" in result.stderr
    # Without tls-server-name the same listener is refused: the certificate does not name 127.0.0.1.
    config = open(server.kubeconfig).read().replace("tls-server-name: kubernetes.default.svc", "")
    path = tmp_path / "kubeconfig"
    path.write_text(config)
    result = server.kubectl("--kubeconfig", str(path), "get", "pods", context="named", check=False)
    assert result.returncode != 0
    assert "x509" in result.stderr and "127.0.0.1" in result.stderr


def test_requests_without_credentials_get_401(server: KubeTestServer) -> None:
    for https in (False, True):
        response = server.request("GET", "/apis/batch/v1/jobs", token=None, https=https)
        assert response.status == 401
        body = response.json()
        assert (body["kind"], body["status"], body["reason"], body["code"]) == (
            "Status",
            "Failure",
            "Unauthorized",
            401,
        )
    assert server.request("GET", "/api/v1/pods", token="wrong").status == 401
    assert server.request("GET", "/healthz", token=None).body == b"ok"
    assert server.request("GET", "/api/v1/pods", https=True).status == 200


def test_kubectl_with_a_wrong_token_is_refused(server: KubeTestServer, tmp_path) -> None:
    config = open(server.kubeconfig).read().replace("token: test-token", "token: not-the-token")
    path = tmp_path / "kubeconfig"
    path.write_text(config)
    result = server.kubectl("--kubeconfig", str(path), "get", "jobs", check=False)
    assert result.returncode != 0
    assert "Unauthorized" in result.stderr or "credentials" in result.stderr


def test_indexed_job_end_to_end(server: KubeTestServer, namespace: str) -> None:
    manifest = INDEXED_JOB.format(name="indexed")
    assert "created" in server.kubectl("-n", namespace, "create", "-f", "-", input=manifest).stdout
    server.kubectl("-n", namespace, "wait", "--for=condition=complete", "job/indexed", "--timeout=60s")

    table = server.kubectl("-n", namespace, "get", "jobs").stdout
    assert table.split("\n")[0].split() == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert table.split("\n")[1].split()[:3] == ["indexed", "Complete", "3/3"]

    pods = json.loads(server.kubectl("-n", namespace, "get", "pods", "-l", "job-name=indexed", "-o", "json").stdout)[
        "items"
    ]
    assert len(pods) == 3
    for pod in pods:
        index = pod["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"]
        assert pod["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"] == index
        assert pod["metadata"]["name"].startswith(f"indexed-{index}-")
        assert pod["spec"]["hostname"] == f"indexed-{index}"
        assert pod["metadata"]["ownerReferences"][0]["kind"] == "Job"
        assert pod["status"]["phase"] == "Succeeded"
        assert server.kubectl("-n", namespace, "logs", pod["metadata"]["name"]).stdout == f"index {index}\n"

    job = json.loads(server.kubectl("-n", namespace, "get", "job", "indexed", "-o", "json").stdout)
    assert job["status"]["completedIndexes"] == "0-2"
    assert job["status"]["succeeded"] == 3
    assert [(c["type"], c["reason"]) for c in job["status"]["conditions"]] == [
        ("SuccessCriteriaMet", "CompletionsReached"),
        ("Complete", "CompletionsReached"),
    ]
    assert job["status"]["completionTime"]

    deleted = server.kubectl("-n", namespace, "delete", "job", "indexed", "--cascade=background")
    assert 'job.batch "indexed" deleted' in deleted.stdout
    server.wait_for("pods to go", lambda: not server.pods(namespace, "job-name=indexed"))


@pytest.mark.parametrize("version", ["1.27", "1.33"])
def test_other_kubectl_versions(server: KubeTestServer, namespace: str, version: str) -> None:
    if kubectl_binary(version) is None:
        pytest.skip(f"kubectl {version} is not installed")
    name = f"v{version.replace('.', '-')}"
    server.kubectl("-n", namespace, "create", "-f", "-", input=INDEXED_JOB.format(name=name), version=version)
    server.kubectl("-n", namespace, "wait", "--for=condition=complete", f"job/{name}", "--timeout=60s", version=version)
    lines = server.kubectl(
        "-n", namespace, "get", "pods", "-l", f"job-name={name}", version=version
    ).stdout.splitlines()
    assert len(lines) == 4 and all("Completed" in line for line in lines[1:])


def test_server_side_field_validation(server: KubeTestServer, namespace: str) -> None:
    manifest = INDEXED_JOB.format(name="strict").replace("  parallelism: 2\n", "  parallelism: 2\n  paralelism: 3\n")
    result = server.kubectl("-n", namespace, "create", "-f", "-", input=manifest, check=False)
    assert result.returncode != 0
    assert 'strict decoding error: unknown field "spec.paralelism"' in result.stderr


def test_invalid_job_is_rejected_with_causes(server: KubeTestServer, namespace: str) -> None:
    manifest = (
        INDEXED_JOB.format(name="invalid")
        .replace("  completions: 3\n", "")
        .replace("restartPolicy: Never", "restartPolicy: Always")
    )
    result = server.kubectl("-n", namespace, "create", "-f", "-", input=manifest, check=False)
    assert result.returncode != 0
    assert "spec.completions: Required value: when completion mode is Indexed" in result.stderr
    assert 'spec.template.spec.restartPolicy: Unsupported value: "Always"' in result.stderr


def test_describe_get_wide_and_events(server: KubeTestServer, namespace: str) -> None:
    server.kubectl("-n", namespace, "create", "-f", "-", input=INDEXED_JOB.format(name="described"))
    server.kubectl("-n", namespace, "wait", "--for=condition=complete", "job/described", "--timeout=60s")
    described = server.kubectl("-n", namespace, "describe", "job", "described").stdout
    assert "Completed Indexes:  0-2" in described
    assert "SuccessfulCreate" in described
    wide = server.kubectl("-n", namespace, "get", "pods", "-o", "wide").stdout
    assert "fanout-test-node" in wide
    assert server.kubectl("-n", namespace, "logs", "job/described").stdout.startswith("index ")


def test_generator_commands_that_send_protobuf(server: KubeTestServer, namespace: str) -> None:
    server.kubectl("-n", namespace, "create", "secret", "generic", "creds", "--from-literal=token=s3cret")
    server.kubectl("-n", namespace, "create", "configmap", "settings", "--from-literal=mode=fast")
    server.kubectl("-n", namespace, "create", "job", "quick", "--image=busybox", "--", "sh", "-c", "echo quick")
    server.kubectl("-n", namespace, "wait", "--for=condition=complete", "job/quick", "--timeout=60s")
    assert server.kubectl("-n", namespace, "logs", "job/quick").stdout == "quick\n"
    secret = json.loads(server.kubectl("-n", namespace, "get", "secret", "creds", "-o", "json").stdout)
    assert (secret["type"], secret["data"]) == ("Opaque", {"token": "czNjcmV0"})
    config = json.loads(server.kubectl("-n", namespace, "get", "configmap", "settings", "-o", "json").stdout)
    assert config["data"] == {"mode": "fast"}
    job = json.loads(server.kubectl("-n", namespace, "get", "job", "quick", "-o", "json").stdout)
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert (container["name"], container["command"], container["imagePullPolicy"]) == (
        "quick",
        ["sh", "-c", "echo quick"],
        "Always",
    )

    server.kubectl("-n", namespace, "run", "bare", "--image=busybox", "--restart=Never", "--", "sh", "-c", "echo bare")
    server.kubectl("-n", namespace, "wait", "--for=jsonpath={.status.phase}=Succeeded", "pod/bare", "--timeout=60s")
    assert server.kubectl("-n", namespace, "logs", "bare").stdout == "bare\n"
