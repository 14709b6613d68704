"""The Job controller: creates a Job's pods, counts their outcomes and writes the Job's status, with the semantics of
the kube-controller-manager's job controller in 1.32:

- NonIndexed and Indexed completion modes, parallelism, completions (or a work queue when completions is unset);
- back-off before re-creating failed pods (global, or per index with backoffLimitPerIndex), shortened to a
  configurable base (default 0.2 s instead of 10 s), doubling, capped at 36 times the base (as 6 min is to 10 s);
- backoffLimit (restarts count too under restartPolicy OnFailure), backoffLimitPerIndex, maxFailedIndexes;
- podFailurePolicy (Ignore, FailJob, FailIndex, Count; onExitCodes In/NotIn and onPodConditions), first match wins;
- successPolicy; activeDeadlineSeconds (counted from startTime, reset on resume); suspend; ttlSecondsAfterFinished;
- podReplacementPolicy (Failed: wait until a terminating pod is gone before replacing it);
- lowering parallelism: the excess active pods are deleted, unscheduled and Pending ones first, then the newest; those
  deletions are not failures, and their indexes are re-created only within the new parallelism;
- the 1.31+ condition order: FailureTarget or SuccessCriteriaMet first, remaining pods terminated, then Failed or
  Complete with the same reason and message; completionTime only with Complete;
- pods the cluster refuses (Pod Security admission of the namespace's enforced level, or refuse_pods(), as a
  ResourceQuota would): no pod, no condition on the Job, a FailedCreate Warning event, and another attempt every
  second.

Pods get the labels, annotations, ownerReference, generateName and hostname real Job pods get. There is no
job-tracking finalizer: the controller learns the final state of a removed pod from the DELETED event's object.
"""

from __future__ import annotations

import copy
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from errors import ApiError
from indexes import format_indexes, parse_indexes
from meta import condition, controller_owner, has_true_condition, parse_rfc3339, rfc3339
from registry import TERMINAL_PHASES, Registry
from store import Store
from validation import JOB_CONTROLLER

INDEX_KEY = "batch.kubernetes.io/job-completion-index"
FAILURE_COUNT_KEY = "batch.kubernetes.io/job-index-failure-count"
IGNORED_COUNT_KEY = "batch.kubernetes.io/job-index-ignored-failure-count"

MESSAGES = {
    "BackoffLimitExceeded": "Job has reached the specified backoff limit",
    "DeadlineExceeded": "Job was active longer than specified deadline",
    "MaxFailedIndexesExceeded": "Job has exceeded the specified maximal number of failed indexes",
    "FailedIndexes": "Job has failed indexes",
    "CompletionsReached": "Reached expected number of succeeded pods",
}

# What a namespace's ResourceQuota answers for pods without limits; {pod} is the pod's generateName.
REFUSED_MESSAGE = (
    'pods "{pod}" is forbidden: failed quota: compute-resources: must specify limits.cpu for: worker; '
    "limits.memory for: worker"
)
# How often the controller tries again to create pods the cluster refused.
REFUSED_RETRY = 1.0


class PodCreationRefused(Exception):
    """The API server refused a pod the controller tried to create."""


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} job-controller: {message}", file=sys.stderr, flush=True)


@dataclass
class JobState:
    """What the controller remembers about one Job (by uid) between syncs."""

    counted: set[str] = field(default_factory=set)  # pods whose outcome is already in the counts
    # Pods the controller itself deleted, and why: "finish" (the Job reached FailureTarget or SuccessCriteriaMet; such
    # pods count as failed unless they succeeded, as in the real controller), "suspend" or "scale-down" (parallelism
    # was lowered; neither is counted).
    expected_deletions: dict[str, str] = field(default_factory=dict)
    created: int = 0  # pods created so far: the order of creation, which ranks pods for scale-down
    creation_order: dict[str, int] = field(default_factory=dict)
    succeeded: int = 0
    failed: int = 0
    completed_indexes: set[int] = field(default_factory=set)
    failed_indexes: set[int] = field(default_factory=set)
    index_failures: dict[int, int] = field(default_factory=dict)
    index_ignored: dict[int, int] = field(default_factory=dict)
    index_last_failure: dict[int, float] = field(default_factory=dict)
    recent_failures: int = 0  # failures since the last success, for the global back-off
    last_failure: float | None = None
    target: tuple[str, str, str] | None = None  # (condition type, reason, message) of FailureTarget/SuccessCriteriaMet
    finished_at: float | None = None
    refused: str | None = None  # why the last pod creation was refused, while it is; one event per reason


def pod_index(pod: dict[str, Any]) -> int | None:
    metadata = pod["metadata"]
    text = (metadata.get("annotations") or {}).get(INDEX_KEY) or (metadata.get("labels") or {}).get(INDEX_KEY)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def match_pod_failure_policy(job: dict[str, Any], pod: dict[str, Any]) -> tuple[str, str] | None:
    """The action of the first podFailurePolicy rule matching a Failed pod, with a message; None if none match."""
    policy = job["spec"].get("podFailurePolicy")
    if not policy or pod.get("status", {}).get("phase") != "Failed":
        return None
    metadata = pod["metadata"]
    where = f"{metadata.get('namespace')}/{metadata.get('name')}"
    statuses = list(pod["status"].get("initContainerStatuses") or []) + list(
        pod["status"].get("containerStatuses") or []
    )
    for index, rule in enumerate(policy.get("rules") or []):
        action = rule.get("action")
        codes = rule.get("onExitCodes")
        if codes is not None:
            values = set(codes.get("values") or [])
            for status in statuses:
                if codes.get("containerName") not in (None, status.get("name")):
                    continue
                terminated = (status.get("state") or {}).get("terminated")
                if not terminated or terminated.get("exitCode", 0) == 0:
                    continue
                code = terminated["exitCode"]
                if (code in values) == (codes.get("operator") == "In"):
                    return action, (
                        f"Container {status.get('name')} for pod {where} failed with exit code {code} "
                        f"matching {action} rule at index {index}"
                    )
        for pattern in rule.get("onPodConditions") or []:
            found = condition(pod, pattern.get("type", ""))
            if found is not None and found.get("status") == pattern.get("status", "True"):
                return (
                    action,
                    f"Pod {where} has condition {pattern.get('type')} matching {action} rule at index {index}",
                )
    return None


class JobController:
    def __init__(
        self, store: Store, registry: Registry, *, backoff: float = 0.2, clock: Callable[[], float] = time.time
    ):
        self.store = store
        self.registry = registry
        self.backoff = backoff
        self.clock = clock
        self._states: dict[str, JobState] = {}
        self._tombstones: dict[str, list[dict[str, Any]]] = {}
        self._timers: dict[tuple[str, str], float] = {}
        self._refusing: str | None = None
        self._watcher = store.subscribe(["jobs", "pods"])
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="job-controller", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self.store.unwatch(self._watcher)
        self._thread.join(timeout=5)

    # MARK: - Refused pods

    def refuse_pods(self, message: str | None = None) -> None:
        """Every pod the controller creates is refused with `message` ({pod}: its generateName) until allow_pods():
        Jobs get no pods and no condition, only a FailedCreate Warning event, as under a ResourceQuota that requires
        limits or Pod Security admission."""
        self._refusing = message or REFUSED_MESSAGE

    def allow_pods(self) -> None:
        self._refusing = None

    @property
    def refusing(self) -> bool:
        return self._refusing is not None

    # MARK: - The loop

    def _loop(self) -> None:
        while not self._stopping.is_set():
            dirty: set[tuple[str, str]] = set()
            now = self.clock()
            next_timer = min(self._timers.values(), default=now + 1.0)
            event = self._watcher.next(timeout=max(0.01, min(1.0, next_timer - now)))
            while event is not None:
                self._note(event.type, event.resource, event.obj, dirty)
                event = self._watcher.next(timeout=0) if self._watcher.pending() else None
            now = self.clock()
            for key, when in list(self._timers.items()):
                if when <= now:
                    del self._timers[key]
                    dirty.add(key)
            for namespace, name in sorted(dirty):
                try:
                    self.sync(namespace, name)
                except Exception:
                    log(f"error syncing {namespace}/{name}: {traceback.format_exc()}")

    def _note(self, kind: str, resource: str, obj: dict[str, Any], dirty: set[tuple[str, str]]) -> None:
        metadata = obj["metadata"]
        if resource == "jobs":
            if kind == "DELETED":
                self._states.pop(metadata["uid"], None)
                self._tombstones.pop(metadata["uid"], None)
                self._timers.pop((metadata["namespace"], metadata["name"]), None)
            else:
                dirty.add((metadata["namespace"], metadata["name"]))
            return
        owner = controller_owner(obj)
        if owner is None or owner.get("kind") != "Job":
            return
        if kind == "DELETED":
            self._tombstones.setdefault(owner["uid"], []).append(obj)
        dirty.add((metadata["namespace"], owner["name"]))

    def _wake(self, namespace: str, name: str, when: float) -> None:
        key = (namespace, name)
        self._timers[key] = min(self._timers.get(key, when), when)

    def _delay(self, failures: int) -> float:
        if failures <= 0:
            return 0.0
        return min(self.backoff * (2 ** (failures - 1)), self.backoff * 36)

    # MARK: - One sync

    def sync(self, namespace: str, name: str) -> None:
        job = self.store.get("jobs", namespace, name)
        if job is None:
            return
        spec = job["spec"]
        if spec.get("managedBy") not in (None, JOB_CONTROLLER):
            return
        metadata = job["metadata"]
        uid = metadata["uid"]
        state = self._states.setdefault(uid, JobState())
        if metadata.get("deletionTimestamp"):
            self.registry.finish_foreground_deletion(namespace, name)
            return
        now = self.clock()
        pods, _ = self.store.list(
            "pods", namespace, predicate=lambda pod: (controller_owner(pod) or {}).get("uid") == uid
        )
        tombstones = self._tombstones.pop(uid, [])
        finished = has_true_condition(job, "Complete") or has_true_condition(job, "Failed")
        indexed = spec.get("completionMode") == "Indexed"
        per_index = spec.get("backoffLimitPerIndex")

        # Count pods that reached a terminal phase (or vanished) since the last sync.
        for pod in pods + tombstones:
            pod_uid = pod["metadata"]["uid"]
            phase = pod.get("status", {}).get("phase")
            gone = pod in tombstones
            if pod_uid in state.counted or not (phase in TERMINAL_PHASES or gone):
                continue
            state.counted.add(pod_uid)
            deleted_because = state.expected_deletions.get(pod_uid)
            if phase == "Succeeded":
                self._count_success(state, pod, indexed, spec)
            elif deleted_because == "finish":
                state.failed += 1
            elif deleted_because is None:
                self._count_failure(state, job, pod, indexed, per_index, now)

        live = [pod for pod in pods if pod.get("status", {}).get("phase") not in TERMINAL_PHASES]
        active = [pod for pod in live if not pod["metadata"].get("deletionTimestamp")]
        terminating = [pod for pod in live if pod["metadata"].get("deletionTimestamp")]
        status = dict(job.get("status") or {})
        conditions = [dict(item) for item in status.get("conditions") or []]

        if not finished:
            if spec.get("suspend"):
                self._delete_pods(state, job, active, "suspend")
                active = []
                self._set_condition(conditions, "Suspended", "True", "JobSuspended", "Job suspended", now)
            else:
                suspended = next((c for c in conditions if c["type"] == "Suspended"), None)
                if suspended is not None and suspended["status"] == "True":
                    self._set_condition(conditions, "Suspended", "False", "JobResumed", "Job resumed", now)
                    status["startTime"] = rfc3339(now)
                status.setdefault("startTime", rfc3339(now))
                if state.target is None:
                    state.target = self._decide(state, job, status, active, indexed, per_index, now)
                if state.target is not None:
                    kind, reason, message = state.target
                    self._set_condition(conditions, kind, "True", reason, message, now)
                    self._delete_pods(state, job, active, "finish")
                    active = []
                    terminating = [
                        pod
                        for pod in live
                        if pod["metadata"].get("deletionTimestamp")
                        or pod["metadata"]["uid"] in state.expected_deletions
                    ]
                    if not terminating:
                        kind, reason, message = state.target
                        final = "Complete" if kind == "SuccessCriteriaMet" else "Failed"
                        self._set_condition(conditions, final, "True", reason, message, now)
                        if final == "Complete":
                            status["completionTime"] = rfc3339(now)
                        state.finished_at = now
                        finished = True
                        self.registry.record_event(
                            job,
                            "Normal" if final == "Complete" else "Warning",
                            "Completed" if final == "Complete" else reason,
                            message if final == "Failed" else "Job completed",
                            "job-controller",
                        )
                else:
                    excess = len(active) - spec.get("parallelism", 1)
                    if excess > 0:
                        doomed = self._removal_order(state, active)[:excess]
                        self._delete_pods(state, job, doomed, "scale-down")
                        doomed_uids = {pod["metadata"]["uid"] for pod in doomed}
                        active = [pod for pod in active if pod["metadata"]["uid"] not in doomed_uids]
                    active = active + self._create_pods(state, job, active, terminating, indexed, per_index, now)
                    deadline = spec.get("activeDeadlineSeconds")
                    if deadline:
                        self._wake(namespace, name, parse_rfc3339(status["startTime"]) + deadline)

        if finished:
            self._expire_after_ttl(state, job, conditions, now)

        status["conditions"] = conditions
        if not conditions:
            status.pop("conditions")
        status["active"] = len(active)
        status["ready"] = sum(1 for pod in active if has_true_condition(pod, "Ready"))
        status["terminating"] = len(
            [
                pod
                for pod in pods
                if pod["metadata"].get("deletionTimestamp")
                and pod.get("status", {}).get("phase") not in TERMINAL_PHASES
            ]
        )
        status["succeeded"] = len(state.completed_indexes) if indexed else state.succeeded
        status["failed"] = state.failed
        for counter in ("active", "succeeded", "failed"):
            if not status[counter]:
                status.pop(counter)
        if indexed and state.completed_indexes:
            status["completedIndexes"] = format_indexes(state.completed_indexes)
        if per_index is not None:
            status["failedIndexes"] = format_indexes(state.failed_indexes)
        status["uncountedTerminatedPods"] = {}

        def write(current: dict[str, Any]) -> Any:
            if current["metadata"]["uid"] != uid:
                return False
            current["status"] = status

        self.store.mutate("jobs", namespace, name, write)

    # MARK: - Counting

    def _count_success(self, state: JobState, pod: dict[str, Any], indexed: bool, spec: dict[str, Any]) -> None:
        state.recent_failures = 0
        if not indexed:
            state.succeeded += 1
            return
        index = pod_index(pod)
        if index is not None and 0 <= index < (spec.get("completions") or 0) and index not in state.failed_indexes:
            state.completed_indexes.add(index)

    def _count_failure(
        self,
        state: JobState,
        job: dict[str, Any],
        pod: dict[str, Any],
        indexed: bool,
        per_index: int | None,
        now: float,
    ) -> None:
        matched = match_pod_failure_policy(job, pod)
        action = matched[0] if matched else "Count"
        index = pod_index(pod) if indexed else None
        if action == "Ignore":
            if index is not None:
                state.index_ignored[index] = state.index_ignored.get(index, 0) + 1
            return
        state.failed += 1
        if action == "FailJob":
            if state.target is None:
                state.target = ("FailureTarget", "PodFailurePolicy", matched[1])
            return
        if per_index is not None and index is not None:
            annotated = int((pod["metadata"].get("annotations") or {}).get(FAILURE_COUNT_KEY, "0") or 0)
            failures = max(state.index_failures.get(index, 0), annotated) + 1
            state.index_failures[index] = failures
            state.index_last_failure[index] = now
            if action == "FailIndex" or failures > per_index:
                state.failed_indexes.add(index)
            return
        state.recent_failures += 1
        state.last_failure = now

    def _decide(
        self,
        state: JobState,
        job: dict[str, Any],
        status: dict[str, Any],
        active: list[dict[str, Any]],
        indexed: bool,
        per_index: int | None,
        now: float,
    ) -> tuple[str, str, str] | None:
        """The FailureTarget or SuccessCriteriaMet the Job has reached, if any."""
        spec = job["spec"]
        deadline = spec.get("activeDeadlineSeconds")
        if deadline and status.get("startTime") and now - parse_rfc3339(status["startTime"]) >= deadline:
            return ("FailureTarget", "DeadlineExceeded", MESSAGES["DeadlineExceeded"])
        max_failed = spec.get("maxFailedIndexes")
        if per_index is not None and max_failed is not None and len(state.failed_indexes) > max_failed:
            return ("FailureTarget", "MaxFailedIndexesExceeded", MESSAGES["MaxFailedIndexesExceeded"])
        failures = state.failed
        if spec["template"]["spec"].get("restartPolicy") == "OnFailure":
            failures += sum(
                status_item.get("restartCount", 0)
                for pod in active
                for status_item in pod.get("status", {}).get("containerStatuses") or []
            )
        if failures > spec.get("backoffLimit", 6):
            return ("FailureTarget", "BackoffLimitExceeded", MESSAGES["BackoffLimitExceeded"])
        completions = spec.get("completions")
        if indexed:
            for number, rule in enumerate((spec.get("successPolicy") or {}).get("rules") or []):
                if self._success_rule_met(rule, state.completed_indexes):
                    return ("SuccessCriteriaMet", "SuccessPolicy", f"Matched rules at index {number}")
            if len(state.completed_indexes | state.failed_indexes) >= (completions or 0):
                if state.failed_indexes:
                    return ("FailureTarget", "FailedIndexes", MESSAGES["FailedIndexes"])
                return ("SuccessCriteriaMet", "CompletionsReached", MESSAGES["CompletionsReached"])
            return None
        if completions is not None:
            if state.succeeded >= completions:
                return ("SuccessCriteriaMet", "CompletionsReached", MESSAGES["CompletionsReached"])
        elif state.succeeded > 0 and not active:
            return ("SuccessCriteriaMet", "CompletionsReached", MESSAGES["CompletionsReached"])
        return None

    @staticmethod
    def _success_rule_met(rule: dict[str, Any], completed: set[int]) -> bool:
        wanted = rule.get("succeededIndexes")
        count = rule.get("succeededCount")
        if wanted is not None:
            listed = set(parse_indexes(wanted))
            done = len(listed & completed)
            return done >= count if count is not None else listed <= completed
        return count is not None and len(completed) >= count

    # MARK: - Pods

    def _create_pods(
        self,
        state: JobState,
        job: dict[str, Any],
        active: list[dict[str, Any]],
        terminating: list[dict[str, Any]],
        indexed: bool,
        per_index: int | None,
        now: float,
    ) -> list[dict[str, Any]]:
        metadata = job["metadata"]
        created: list[dict[str, Any]] = []
        try:
            wake_at = self._create_missing_pods(state, job, active, terminating, indexed, per_index, now, created)
        except PodCreationRefused as refused:
            if state.refused != str(refused):
                state.refused = str(refused)
                self.registry.record_event(
                    job, "Warning", "FailedCreate", f"Error creating: {refused}", "job-controller"
                )
            wake_at = now + REFUSED_RETRY
        if wake_at is not None:
            self._wake(metadata["namespace"], metadata["name"], wake_at)
        return created

    def _create_missing_pods(
        self,
        state: JobState,
        job: dict[str, Any],
        active: list[dict[str, Any]],
        terminating: list[dict[str, Any]],
        indexed: bool,
        per_index: int | None,
        now: float,
        created: list[dict[str, Any]],
    ) -> float | None:
        """Creates the pods the Job lacks into `created`; returns when to look again for pods still backing off."""
        spec = job["spec"]
        parallelism = spec.get("parallelism", 1)
        wait_for_terminating = spec.get("podReplacementPolicy") == "Failed"
        occupied = len(active) + (len(terminating) if wait_for_terminating else 0)
        global_ready_at = (state.last_failure or 0) + self._delay(state.recent_failures)
        wake_at: float | None = None
        if indexed:
            busy = {pod_index(pod) for pod in active}
            if wait_for_terminating:
                busy |= {pod_index(pod) for pod in terminating}
            free = parallelism - len(active)
            for index in range(spec.get("completions") or 0):
                if free <= 0:
                    break
                if index in busy or index in state.completed_indexes or index in state.failed_indexes:
                    continue
                if per_index is not None:
                    ready_at = state.index_last_failure.get(index, 0) + self._delay(state.index_failures.get(index, 0))
                else:
                    ready_at = global_ready_at
                if ready_at > now:
                    wake_at = min(wake_at or ready_at, ready_at)
                    continue
                created.append(self._create_pod(state, job, index, per_index))
                free -= 1
        else:
            completions = spec.get("completions")
            if completions is not None:
                wanted = min(parallelism, completions - state.succeeded)
            else:
                wanted = 0 if state.succeeded else parallelism
            needed = wanted - occupied
            if needed > 0:
                if global_ready_at > now:
                    wake_at = global_ready_at
                else:
                    for _ in range(needed):
                        created.append(self._create_pod(state, job, None, per_index))
        return wake_at

    @staticmethod
    def _removal_order(state: JobState, pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Active pods in the order the real controller deletes them when parallelism drops (controller.ActivePods):
        unscheduled before scheduled, Pending before Running, not Ready before Ready, newer before older."""

        def rank(pod: dict[str, Any]) -> tuple[bool, bool, bool, int]:
            return (
                bool(pod["spec"].get("nodeName")),
                pod.get("status", {}).get("phase") == "Running",
                has_true_condition(pod, "Ready"),
                -state.creation_order.get(pod["metadata"]["uid"], -1),
            )

        return sorted(pods, key=rank)

    def _create_pod(
        self, state: JobState, job: dict[str, Any], index: int | None, per_index: int | None
    ) -> dict[str, Any]:
        metadata = job["metadata"]
        template = copy.deepcopy(job["spec"]["template"])
        template_meta = template.get("metadata") or {}
        labels = dict(template_meta.get("labels") or {})
        annotations = dict(template_meta.get("annotations") or {})
        spec = template["spec"]
        name = metadata["name"]
        generate_name = f"{name}-" if index is None else f"{name}-{index}-"
        refusing = self._refusing
        if refusing is not None:
            raise PodCreationRefused(refusing.replace("{pod}", generate_name))
        if index is not None:
            labels[INDEX_KEY] = str(index)
            annotations[INDEX_KEY] = str(index)
            spec.setdefault("hostname", f"{name}-{index}")
            if per_index is not None:
                annotations[FAILURE_COUNT_KEY] = str(state.index_failures.get(index, 0))
                if state.index_ignored.get(index):
                    annotations[IGNORED_COUNT_KEY] = str(state.index_ignored[index])
            variable = {
                "name": "JOB_COMPLETION_INDEX",
                "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": f"metadata.annotations['{INDEX_KEY}']"}},
            }
            for group in ("initContainers", "containers"):
                for container in spec.get(group) or []:
                    env = container.setdefault("env", [])
                    if not any(item.get("name") == "JOB_COMPLETION_INDEX" for item in env):
                        env.append(variable)
        pod_metadata: dict[str, Any] = {
            "generateName": generate_name,
            "namespace": metadata["namespace"],
            "labels": labels,
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "name": name,
                    "uid": metadata["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        }
        if annotations:
            pod_metadata["annotations"] = annotations
        try:
            pod = self.registry.create_pod({"metadata": pod_metadata, "spec": spec})
        except ApiError as error:
            if error.code != 403:
                raise
            raise PodCreationRefused(error.message) from None
        state.refused = None
        state.created += 1
        state.creation_order[pod["metadata"]["uid"]] = state.created
        self.registry.record_event(
            job, "Normal", "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}", "job-controller"
        )
        return pod

    def _delete_pods(self, state: JobState, job: dict[str, Any], pods: list[dict[str, Any]], why: str) -> None:
        for pod in pods:
            state.expected_deletions[pod["metadata"]["uid"]] = why
            self.registry.delete_pod(pod["metadata"]["namespace"], pod["metadata"]["name"])
            self.registry.record_event(
                job, "Normal", "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}", "job-controller"
            )

    @staticmethod
    def _set_condition(
        conditions: list[dict[str, Any]], kind: str, value: str, reason: str, message: str, now: float
    ) -> None:
        stamp = rfc3339(now)
        for item in conditions:
            if item["type"] == kind:
                if item["status"] != value or item.get("reason") != reason:
                    item.update(
                        status=value, reason=reason, message=message, lastProbeTime=stamp, lastTransitionTime=stamp
                    )
                return
        conditions.append(
            {
                "type": kind,
                "status": value,
                "lastProbeTime": stamp,
                "lastTransitionTime": stamp,
                "reason": reason,
                "message": message,
            }
        )

    def _expire_after_ttl(
        self, state: JobState, job: dict[str, Any], conditions: list[dict[str, Any]], now: float
    ) -> None:
        ttl = job["spec"].get("ttlSecondsAfterFinished")
        if ttl is None:
            return
        finished_at = state.finished_at
        if finished_at is None:
            final = next((c for c in conditions if c["type"] in ("Complete", "Failed") and c["status"] == "True"), None)
            finished_at = parse_rfc3339(final["lastTransitionTime"]) if final else now
            state.finished_at = finished_at
        metadata = job["metadata"]
        if now >= finished_at + ttl:
            self.registry.delete_job(metadata["namespace"], metadata["name"], "Background")
        else:
            self._wake(metadata["namespace"], metadata["name"], finished_at + ttl)
