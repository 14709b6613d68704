"""Server-side printing: meta.k8s.io/v1 Table responses, which `kubectl get` asks for and prints as its columns."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from meta import has_true_condition, human_duration, parse_rfc3339

Column = tuple[str, str, str, int, str]  # name, type, format, priority, description


def _age(obj: dict[str, Any], now: float) -> str:
    created = obj.get("metadata", {}).get("creationTimestamp")
    return human_duration(now - parse_rfc3339(created)) if created else "<unknown>"


def _job_status(job: dict[str, Any]) -> str:
    if job["metadata"].get("deletionTimestamp"):
        return "Terminating"
    for kind, label in (
        ("Complete", "Complete"),
        ("Failed", "Failed"),
        ("FailureTarget", "FailureTarget"),
        ("SuccessCriteriaMet", "SuccessCriteriaMet"),
        ("Suspended", "Suspended"),
    ):
        if has_true_condition(job, kind):
            return label
    return "Running"


def _job_row(job: dict[str, Any], now: float) -> list[Any]:
    spec, status = job.get("spec", {}), job.get("status", {})
    succeeded = status.get("succeeded", 0)
    completions = spec.get("completions")
    if completions is not None:
        progress = f"{succeeded}/{completions}"
    elif (spec.get("parallelism") or 1) > 1:
        progress = f"{succeeded}/1 of {spec['parallelism']}"
    else:
        progress = f"{succeeded}/1"
    duration = ""
    if status.get("startTime"):
        end = parse_rfc3339(status["completionTime"]) if status.get("completionTime") else now
        duration = human_duration(end - parse_rfc3339(status["startTime"]))
    containers = spec.get("template", {}).get("spec", {}).get("containers", [])
    selector = ",".join(f"{k}={v}" for k, v in (spec.get("selector", {}).get("matchLabels") or {}).items())
    return [
        job["metadata"]["name"],
        _job_status(job),
        progress,
        duration,
        _age(job, now),
        ",".join(c.get("name", "") for c in containers),
        ",".join(c.get("image", "") for c in containers),
        selector,
    ]


def _pod_status(pod: dict[str, Any]) -> str:
    status = pod.get("status", {})
    reason = status.get("reason") or status.get("phase", "Pending")
    init_specs = pod.get("spec", {}).get("initContainers") or []
    for index, item in enumerate(status.get("initContainerStatuses") or []):
        state = item.get("state", {})
        terminated = state.get("terminated")
        if terminated and terminated.get("exitCode") == 0:
            continue
        if terminated:
            reason = f"Init:{terminated.get('reason') or 'ExitCode:' + str(terminated.get('exitCode'))}"
        elif state.get("waiting", {}).get("reason") not in (None, "PodInitializing"):
            reason = f"Init:{state['waiting']['reason']}"
        else:
            reason = f"Init:{index}/{len(init_specs)}"
        break
    else:
        running = False
        for item in reversed(status.get("containerStatuses") or []):
            state = item.get("state", {})
            if state.get("waiting", {}).get("reason"):
                reason = state["waiting"]["reason"]
            elif state.get("terminated"):
                terminated = state["terminated"]
                reason = terminated.get("reason") or (
                    f"Signal:{terminated['signal']}"
                    if terminated.get("signal")
                    else f"ExitCode:{terminated.get('exitCode')}"
                )
            elif state.get("running"):
                running = True
        if reason == "Completed" and running:
            reason = "Running"
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    return reason


def _pod_row(pod: dict[str, Any], now: float) -> list[Any]:
    statuses = pod.get("status", {}).get("containerStatuses") or []
    total = len(pod.get("spec", {}).get("containers") or [])
    ready = sum(1 for item in statuses if item.get("ready"))
    restarts = sum(item.get("restartCount", 0) for item in statuses)
    return [
        pod["metadata"]["name"],
        f"{ready}/{total}",
        _pod_status(pod),
        restarts,
        _age(pod, now),
        pod.get("status", {}).get("podIP") or "<none>",
        pod.get("spec", {}).get("nodeName") or "<none>",
        pod.get("status", {}).get("nominatedNodeName") or "<none>",
        "<none>",
    ]


def _namespace_row(namespace: dict[str, Any], now: float) -> list[Any]:
    return [namespace["metadata"]["name"], namespace.get("status", {}).get("phase", "Active"), _age(namespace, now)]


def _event_row(event: dict[str, Any], now: float) -> list[Any]:
    involved = event.get("involvedObject", {})
    last = event.get("lastTimestamp") or event["metadata"].get("creationTimestamp")
    return [
        human_duration(now - parse_rfc3339(last)) if last else "<unknown>",
        event.get("type", ""),
        event.get("reason", ""),
        f"{involved.get('kind', '').lower()}/{involved.get('name', '')}",
        event.get("message", ""),
    ]


def _generic_row(obj: dict[str, Any], now: float) -> list[Any]:
    return [obj["metadata"]["name"], _age(obj, now)]


_NAME = ("Name", "string", "name", 0, "Name must be unique within a namespace.")
_AGE = ("Age", "string", "", 0, "Time since the object was created.")
PRINTERS: dict[str, tuple[list[Column], Callable[[dict[str, Any], float], list[Any]]]] = {
    "jobs": (
        [
            _NAME,
            ("Status", "string", "", 0, "Status of the job."),
            (
                "Completions",
                "string",
                "",
                0,
                "The desired number of successfully finished pods the job should be run with.",
            ),
            ("Duration", "string", "", 0, "Time required to complete the job."),
            _AGE,
            ("Containers", "string", "", 1, "Names of each container in the template."),
            ("Images", "string", "", 1, "Images referenced by each container in the template."),
            ("Selector", "string", "", 1, "A label query over pods that should match the pod count."),
        ],
        _job_row,
    ),
    "pods": (
        [
            _NAME,
            ("Ready", "string", "", 0, "The aggregate readiness state of this pod for accepting traffic."),
            ("Status", "string", "", 0, "The aggregate status of the containers in this pod."),
            ("Restarts", "string", "", 0, "The number of times the containers in this pod have been restarted."),
            _AGE,
            ("IP", "string", "", 1, "IP address allocated to the pod."),
            ("Node", "string", "", 1, "Name of the node the pod is assigned to."),
            ("Nominated Node", "string", "", 1, "Nominated node name, if any."),
            ("Readiness Gates", "string", "", 1, "Pod readiness gates."),
        ],
        _pod_row,
    ),
    "namespaces": ([_NAME, ("Status", "string", "", 0, "The status of the namespace."), _AGE], _namespace_row),
    "events": (
        [
            ("Last Seen", "string", "", 0, "Time since the event was last seen."),
            ("Type", "string", "", 0, "Type of the event."),
            ("Reason", "string", "", 0, "Reason of the event."),
            ("Object", "string", "", 0, "The object the event is about."),
            ("Message", "string", "", 0, "The event's message."),
        ],
        _event_row,
    ),
}


def wants_table(accept: str | None) -> bool:
    return bool(accept) and "as=Table" in accept


def table(
    resource: str,
    api_version: str,
    kind: str,
    items: list[dict[str, Any]],
    *,
    include_object: str = "Metadata",
    resource_version: str = "",
    continue_token: str | None = None,
    remaining: int | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    now = time.time() if now is None else now
    columns, row = PRINTERS.get(resource, ([_NAME, _AGE], _generic_row))
    rows = []
    for item in items:
        entry: dict[str, Any] = {"cells": row(item, now)}
        if include_object == "Object":
            entry["object"] = {"apiVersion": api_version, "kind": kind, **item}
        elif include_object != "None":
            entry["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": item.get("metadata", {}),
            }
        rows.append(entry)
    metadata: dict[str, Any] = {"resourceVersion": resource_version}
    if continue_token:
        metadata["continue"] = continue_token
    if remaining is not None:
        metadata["remainingItemCount"] = remaining
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": [
            {"name": name, "type": kind_, "format": fmt, "description": description, "priority": priority}
            for name, kind_, fmt, priority, description in columns
        ],
        "rows": rows,
    }
