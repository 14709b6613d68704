"""The kubelet: schedules pods onto the one fake node and runs their containers as local processes.

No image runs, though images.py checks it as a real kubelet would: a container's `command` + `args` run directly on this
host (a container with no command runs its args; with neither it fails with StartError). Volumes cannot be mounted, so
emptyDir, configMap and secret volumes are directories under the state dir, and every occurrence of a volumeMount's
mountPath in the container's command, args, env values and workingDir is rewritten to that directory; the directory is
also in the env var KUBE_TEST_VOLUME_<VOLUME NAME> (upper case, non-alphanumerics as _). Init containers run in order
first; main containers run together. restartPolicy Never and OnFailure are honoured (Always restarts on any exit).

Pod lifecycle: Pending (PodScheduled) -> Running (Ready) -> Succeeded or Failed, with container states,
restartCount, exit codes and reasons. A deleted running pod gets SIGTERM, SIGKILL after its grace period (capped by
--max-grace), ends Failed (or Succeeded) and is then removed from the store.

A container's `resources.limits.memory` is enforced by the memory watch (memory.py): over it, the container's processes
are killed and it ends OOMKilled with exit code 137. Pods that a slow-pod rule picks (slowness.py) are bound to the
slow node and throttled there.
"""

from __future__ import annotations

import base64
import os
import platform
import queue
import re
import shutil
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from errors import ApiError
from images import ensure_image
from memory import MemoryWatch
from meta import rfc3339
from quantity import quantity_bytes
from registry import TERMINAL_PHASES, Registry
from runtime import ContainerRun, LogFile, Outcome
from slowness import SLOW_NODE_NAME, Slowness, SlowPods, Throttle
from store import Store

NODE_NAME = "fanout-test-node"
# The node's labels, which pods' nodeSelector and required node affinity must match (the well-known ones a
# cluster's nodes carry: architecture, zone, instance type).
NODE_LABELS = {
    "kubernetes.io/arch": {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine()),
    "kubernetes.io/os": "linux",
    "kubernetes.io/hostname": NODE_NAME,
    "topology.kubernetes.io/region": "test-region",
    "topology.kubernetes.io/zone": "test-zone-a",
    "node.kubernetes.io/instance-type": "test-standard",
}
NO_NODE_MATCHES = (
    "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are "
    "available: 1 Preemption is not helpful for scheduling."
)
POD_IP = "127.0.0.1"
UNSCHEDULABLE_MESSAGE = (
    "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: "
    "3 No preemption victims found for incoming pod."
)
_VARIABLE = re.compile(r"\$\$|\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)")


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} kubelet: {message}", file=sys.stderr, flush=True)


class ConfigError(Exception):
    """A container cannot be configured yet (a missing Secret or ConfigMap): CreateContainerConfigError."""


class Kubelet:
    def __init__(
        self,
        store: Store,
        registry: Registry,
        state_dir: str,
        *,
        max_grace: float = 5.0,
        base_env: dict[str, str] | None = None,
        restart_backoff: float = 0.2,
        clock: Callable[[], float] = time.time,
        memory: MemoryWatch | None = None,
    ):
        self.store = store
        self.registry = registry
        self.pods_dir = os.path.join(state_dir, "pods")
        self.max_grace = max_grace
        self.base_env = dict(base_env or {})
        self.restart_backoff = restart_backoff
        self.clock = clock
        self._workers: dict[str, PodWorker] = {}
        self._lock = threading.Lock()
        self._holding: str | None = None  # the Unschedulable message while scheduling is held
        self.node_labels = dict(NODE_LABELS)
        # Extended resources the node offers (nvidia.com/gpu: 4); a pod that asks for one it lacks, or for more,
        # is never placed.
        self.node_allocatable: dict[str, int] = {}
        self._capacity: int | None = None  # while held: pods the node still fits at once (None: none at all)
        self._scheduling = threading.Lock()
        self.memory = memory or MemoryWatch()
        self.slow_pods = SlowPods()
        self._slowness: dict[str, Slowness] = {}  # by pod uid: pods bound to the slow node whose worker is to start
        self._watcher = store.subscribe(["pods"])
        self._thread = threading.Thread(target=self._loop, name="kubelet", daemon=True)
        self._stopping = threading.Event()

    def start(self) -> None:
        os.makedirs(self.pods_dir, exist_ok=True)
        self.memory.start()
        self._thread.start()

    def stop(self) -> None:
        """Kills every container process and waits for the workers."""
        self._stopping.set()
        self.store.unwatch(self._watcher)
        with self._lock:
            workers = list(self._workers.values())
        for worker in workers:
            worker.kill_all()
        for worker in workers:
            worker.join(timeout=5)
        self.memory.stop()

    # MARK: - Events

    def _loop(self) -> None:
        while not self._stopping.is_set():
            event = self._watcher.next(timeout=0.5)
            if event is None:
                continue
            try:
                self._handle(event.type, event.obj)
            except Exception:
                log(f"error handling {event.type} pod: {traceback.format_exc()}")

    def _handle(self, kind: str, pod: dict[str, Any]) -> None:
        metadata = pod["metadata"]
        uid = metadata["uid"]
        with self._lock:
            worker = self._workers.get(uid)
        if kind == "DELETED":
            with self._lock:
                self._slowness.pop(uid, None)
            if worker is not None:
                worker.kill_all()
                with self._lock:
                    self._workers.pop(uid, None)
                threading.Thread(target=worker.clean_up, daemon=True).start()
            self._schedule_waiting_if_room()
            return
        phase = pod.get("status", {}).get("phase")
        if phase in TERMINAL_PHASES:
            self._schedule_waiting_if_room()
        if metadata.get("deletionTimestamp"):
            if worker is not None:
                worker.terminate(metadata.get("deletionGracePeriodSeconds", 30))
            elif phase in TERMINAL_PHASES or not pod["spec"].get("nodeName"):
                self.store.delete("pods", metadata["namespace"], metadata["name"])
            return
        if phase in TERMINAL_PHASES or worker is not None:
            return
        if not pod["spec"].get("nodeName"):
            self._schedule(pod)
            return
        with self._lock:
            worker = PodWorker(self, pod, self._slowness.pop(uid, None))
            self._workers[uid] = worker
        worker.start()

    # MARK: - Scheduling

    def _schedule(self, pod: dict[str, Any]) -> None:
        metadata = pod["metadata"]
        now = rfc3339(self.clock())
        with self._scheduling:
            holding = self._holding
            if holding is not None and self._capacity is not None and self._placed() < self._capacity:
                holding = None

            def change(current: dict[str, Any]) -> Any:
                if current["spec"].get("nodeName"):
                    return False
                status = current.setdefault("status", {})
                if not node_matches(current["spec"], self.node_labels):
                    # Never placed: no node will match however long it waits.
                    _set_condition(status, "PodScheduled", "False", now, "Unschedulable", NO_NODE_MATCHES)
                    return None
                lacking = missing_resources(current["spec"], self.node_allocatable)
                if lacking:
                    message = "0/1 nodes are available: " + ", ".join(f"1 Insufficient {name}" for name in lacking)
                    _set_condition(status, "PodScheduled", "False", now, "Unschedulable", message + ".")
                    return None
                if holding is not None:
                    _set_condition(status, "PodScheduled", "False", now, "Unschedulable", holding)
                    return None
                slowness = self.slow_pods.take(current)
                if slowness is not None:
                    with self._lock:
                        self._slowness[metadata["uid"]] = slowness
                current["spec"]["nodeName"] = NODE_NAME if slowness is None else SLOW_NODE_NAME
                _set_condition(status, "PodScheduled", "True", now)
                return None

            self.store.mutate("pods", metadata["namespace"], metadata["name"], change)

    def _placed(self) -> int:
        """Pods on the node that have not finished (terminating ones still take their place)."""
        pods, _ = self.store.list(
            "pods",
            predicate=lambda pod: (
                bool(pod["spec"].get("nodeName")) and pod.get("status", {}).get("phase") not in TERMINAL_PHASES
            ),
        )
        return len(pods)

    def _waiting(self) -> list[dict[str, Any]]:
        """Unscheduled pods, oldest first."""
        pods, _ = self.store.list("pods", predicate=lambda pod: not pod["spec"].get("nodeName"))
        return sorted(pods, key=lambda pod: (pod["metadata"].get("creationTimestamp", ""), pod["metadata"]["name"]))

    def _schedule_waiting_if_room(self) -> None:
        """A pod ended or left: while a capacity holds, the pods waiting may now fit."""
        if self._holding is None or self._capacity is None:
            return
        for pod in self._waiting():
            self._schedule(pod)

    def hold_scheduling(self, message: str | None = None, capacity: int | None = None) -> None:
        """New pods stay Pending with PodScheduled=False (Unschedulable) until release_scheduling(). With
        `capacity`, the node still fits that many unfinished pods at once: only the pods beyond it wait, and a
        waiting pod is scheduled when one on the node ends or is deleted."""
        if capacity is not None and (not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 0):
            raise ValueError("capacity must be a whole number of pods, 0 or more")
        self._holding = message or UNSCHEDULABLE_MESSAGE
        self._capacity = capacity
        for pod in self._waiting():
            self._schedule(pod)

    def release_scheduling(self) -> int:
        """Schedules the pods held so far; returns how many."""
        self._holding = None
        self._capacity = None
        pods = self._waiting()
        for pod in pods:
            self._schedule(pod)
        return len(pods)

    @property
    def holding(self) -> bool:
        return self._holding is not None

    @property
    def capacity(self) -> int | None:
        return self._capacity

    # MARK: - Faults

    def _worker_for(self, namespace: str, name: str) -> PodWorker:
        pod = self.store.get("pods", namespace, name)
        if pod is None:
            raise ApiError.not_found("pods", "", name)
        with self._lock:
            worker = self._workers.get(pod["metadata"]["uid"])
        if worker is None:
            raise ApiError(409, "Conflict", f'pod "{name}" has no running containers')
        return worker

    def kill(self, namespace: str, name: str, container: str | None = None) -> list[str]:
        """SIGKILLs the pod's running container processes (or one container's); they exit with 137."""
        return self._worker_for(namespace, name).kill_all(container)

    def slow(self, namespace: str, name: str, slowness: Slowness) -> None:
        """Throttles a running pod's processes from now (a factor of 1 and no hold: full speed again)."""
        self._worker_for(namespace, name).slow(slowness)

    def disrupt(self, namespace: str, name: str, reason: str, message: str, mode: str) -> dict[str, Any]:
        """Adds DisruptionTarget=True, then either evicts the pod in place (mode "evict": containers killed, pod
        Failed with status.reason Evicted, as kubelet node-pressure eviction does) or deletes it gracefully (mode
        "delete": preemption, API-initiated eviction, a node drain)."""
        pod = self.store.get("pods", namespace, name)
        if pod is None:
            raise ApiError.not_found("pods", "", name)
        now = rfc3339(self.clock())
        updated = self.store.mutate(
            "pods",
            namespace,
            name,
            lambda current: _set_condition(
                current.setdefault("status", {}), "DisruptionTarget", "True", now, reason, message
            ),
        )
        if mode == "delete":
            self.registry.delete_pod(namespace, name)
        else:
            with self._lock:
                worker = self._workers.get(pod["metadata"]["uid"])
            if worker is not None:
                worker.evict(message)
            else:
                self.store.mutate("pods", namespace, name, lambda current: _evicted(current, message))
        return updated or pod

    # MARK: - Logs

    def logs(self, namespace: str, name: str, container: str | None, previous: bool) -> LogFile:
        """The log of the pod's container (its last run, or the one before with `previous`); 400/404 otherwise."""
        pod = self.store.get("pods", namespace, name)
        if pod is None:
            raise ApiError.not_found("pods", "", name)
        names = [c["name"] for c in pod["spec"].get("containers", [])]
        init_names = [c["name"] for c in pod["spec"].get("initContainers", [])]
        if container is None:
            default = (pod["metadata"].get("annotations") or {}).get("kubectl.kubernetes.io/default-container")
            if default:
                container = default
            elif len(names) == 1:
                container = names[0]
            else:
                raise ApiError.bad_request(
                    f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
                    + (f" or one of the init containers: [{' '.join(init_names)}]" if init_names else "")
                )
        if container not in names and container not in init_names:
            raise ApiError.bad_request(f"container {container} is not valid for pod {name}")
        with self._lock:
            worker = self._workers.get(pod["metadata"]["uid"])
        runs = worker.logs.get(container, []) if worker is not None else []
        if previous:
            if len(runs) < 2:
                raise ApiError.bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
            return runs[-2]
        if not runs:
            reason = "PodInitializing" if container in names and init_names else "ContainerCreating"
            raise ApiError.bad_request(f'container "{container}" in pod "{name}" is waiting to start: {reason}')
        return runs[-1]


class PodWorker(threading.Thread):
    """Runs one pod from scheduling to its end, writing the pod's status as it goes."""

    def __init__(self, kubelet: Kubelet, pod: dict[str, Any], slowness: Slowness | None = None):
        metadata = pod["metadata"]
        super().__init__(name=f"pod-{metadata['name']}", daemon=True)
        self.kubelet = kubelet
        self.namespace = metadata["namespace"]
        self.pod_name = metadata["name"]
        self.uid = metadata["uid"]
        self.directory = os.path.join(kubelet.pods_dir, f"{self.namespace}_{self.pod_name}_{self.uid[:8]}")
        self.logs: dict[str, list[LogFile]] = {}
        self._runs: dict[str, ContainerRun] = {}
        self._lock = threading.Lock()
        self._halt = threading.Event()  # deletion, eviction or server shutdown: start nothing more
        self._evicted: str | None = None
        self._deadline_exceeded = False
        self._deleting = False
        self._exits: queue.Queue[str] = queue.Queue()
        self._kill_timer: threading.Timer | None = None
        self._events: dict[tuple[str, str, str, str], str] = {}  # (container, type, reason, message): event name
        self._start_delay = slowness.start_delay if slowness is not None else 0.0
        self._throttle: Throttle | None = None
        if slowness is not None and slowness.throttles:
            self._throttle = Throttle(slowness, name=f"throttle-{self.pod_name}")
            self._throttle.start()

    # MARK: - Control from other threads

    def terminate(self, grace: float) -> None:
        """Graceful deletion: SIGTERM now, SIGKILL after the grace period."""
        with self._lock:
            if self._deleting:
                return
            self._deleting = True
            self._halt.set()
            runs = list(self._runs.values())
        for run in runs:
            run.send(signal.SIGTERM)
        self._release_throttle()  # a stopped process handles SIGTERM once continued
        delay = max(0.0, min(float(grace), self.kubelet.max_grace))
        self._kill_timer = threading.Timer(delay, self.kill_all)
        self._kill_timer.daemon = True
        self._kill_timer.start()
        self._exits.put("")

    def kill_all(self, container: str | None = None) -> list[str]:
        with self._lock:
            if container is None:
                self._halt.set()
            runs = [(name, run) for name, run in self._runs.items() if container in (None, name) and run.running]
        for _, run in runs:
            run.send(signal.SIGKILL)
        if container is None:
            self._release_throttle()
        self._exits.put("")
        return [name for name, _ in runs]

    def slow(self, slowness: Slowness) -> None:
        """Throttles the pod's processes from now on (after a hold, if any), its restarted containers included."""
        with self._lock:
            if self._halt.is_set():
                raise ApiError(409, "Conflict", f'pod "{self.pod_name}" has no running containers')
            if self._throttle is not None:
                self._throttle.change(slowness)
                return
            self._throttle = Throttle(slowness, name=f"throttle-{self.pod_name}")
            self._throttle.start()
            for run in self._runs.values():
                self._throttle.add(run)

    def _release_throttle(self) -> None:
        throttle = self._throttle
        if throttle is not None:
            throttle.release()

    def evict(self, message: str) -> None:
        self._evicted = message
        self.kill_all()

    def clean_up(self) -> None:
        self.join(timeout=10)
        shutil.rmtree(self.directory, ignore_errors=True)

    # MARK: - The pod's life

    def run(self) -> None:
        try:
            self._live()
        except Exception:
            log(f"pod {self.namespace}/{self.pod_name} failed in the kubelet: {traceback.format_exc()}")
            self._update(
                lambda pod: pod["status"].update(
                    phase="Failed", reason="KubeletError", message="the test kubelet failed; see its log"
                )
            )
        finally:
            with self._lock:
                self._halt.set()  # the pod has ended: nothing more starts, nor is slowed
            self._release_throttle()
            if self._kill_timer is not None:
                self._kill_timer.cancel()

    def _now(self) -> str:
        return rfc3339(self.kubelet.clock())

    def _update(self, change: Callable[[dict[str, Any]], Any]) -> dict[str, Any] | None:
        pod = self.kubelet.store.mutate("pods", self.namespace, self.pod_name, change)
        if pod is None or pod["metadata"]["uid"] != self.uid:
            self._halt.set()
            return None
        return pod

    def _live(self) -> None:
        pod = self.kubelet.store.get("pods", self.namespace, self.pod_name)
        if pod is None or pod["metadata"]["uid"] != self.uid:
            return
        spec = pod["spec"]
        os.makedirs(os.path.join(self.directory, "logs"), exist_ok=True)
        os.makedirs(os.path.join(self.directory, "tmp"), exist_ok=True)
        init_containers = spec.get("initContainers") or []
        containers = spec.get("containers") or []
        now = self._now()

        def starting(current: dict[str, Any]) -> None:
            status = current.setdefault("status", {})
            status.update(
                phase="Pending",
                hostIP=POD_IP,
                hostIPs=[{"ip": POD_IP}],
                podIP=POD_IP,
                podIPs=[{"ip": POD_IP}],
                startTime=now,
            )
            _set_condition(status, "PodReadyToStartContainers", "True", now)
            if init_containers:
                _set_condition(
                    status,
                    "Initialized",
                    "False",
                    now,
                    "ContainersNotInitialized",
                    f"containers with incomplete status: [{' '.join(c['name'] for c in init_containers)}]",
                )
            else:
                _set_condition(status, "Initialized", "True", now)
            unready = f"containers with unready status: [{' '.join(c['name'] for c in containers)}]"
            _set_condition(status, "Ready", "False", now, "ContainersNotReady", unready)
            _set_condition(status, "ContainersReady", "False", now, "ContainersNotReady", unready)
            _set_condition(status, "PodScheduled", "True", now)
            waiting = "PodInitializing" if init_containers else "ContainerCreating"
            if init_containers:
                status["initContainerStatuses"] = [
                    _container_status(c, {"waiting": {"reason": "PodInitializing"}}) for c in init_containers
                ]
            status["containerStatuses"] = [_container_status(c, {"waiting": {"reason": waiting}}) for c in containers]

        pod = self._update(starting)
        if pod is None:
            return
        mounts = self._prepare_volumes(pod)
        if mounts is None:
            return self._finish(pod, failed_message="volume setup failed")
        restart_policy = spec.get("restartPolicy", "Always")

        for index, container in enumerate(init_containers):
            outcome = self._run_to_success(pod, container, "initContainerStatuses", index, mounts, restart_policy)
            if outcome is None or outcome.exit_code != 0:
                return self._finish(pod)
        if init_containers:
            self._update(lambda current: _set_condition(current["status"], "Initialized", "True", self._now()))
        if self._halt.is_set():
            return self._finish(pod)
        self._run_main(pod, containers, mounts, restart_policy)
        self._finish(pod)

    def _run_to_success(
        self,
        pod: dict[str, Any],
        container: dict[str, Any],
        group: str,
        index: int,
        mounts: dict[str, str],
        restart_policy: str,
    ) -> Outcome | None:
        """Runs an init container, restarting it under OnFailure/Always until it succeeds; None if stopped."""
        while True:
            run = self._start(pod, container, group, index, mounts)
            if run is None:
                return None
            outcome = run.wait()
            self._record_exit(group, index, run)
            if outcome.exit_code == 0 or restart_policy == "Never" or self._halt.is_set():
                return outcome
            if self._halt.wait(self._restart_delay(group, index)):
                return outcome
            self._prepare_restart(group, index)

    def _run_main(
        self, pod: dict[str, Any], containers: list[dict[str, Any]], mounts: dict[str, str], restart_policy: str
    ) -> None:
        started: dict[str, ContainerRun] = {}
        for index, container in enumerate(containers):
            run = self._start(pod, container, "containerStatuses", index, mounts)
            if run is None:
                break
            started[container["name"]] = run
        if started and not self._halt.is_set():
            self._mark_running()
        deadline = pod["spec"].get("activeDeadlineSeconds")
        deadline_at = self.kubelet.clock() + deadline if deadline else None
        pending_restarts: dict[str, float] = {}
        recorded: set[int] = set()
        while True:
            for index, container in enumerate(containers):
                name = container["name"]
                run = started.get(name)
                if run is None or id(run) in recorded or run.running:
                    continue
                outcome = run.wait()
                self._record_exit("containerStatuses", index, run)
                recorded.add(id(run))
                restart = not self._halt.is_set() and (
                    restart_policy == "Always" or (restart_policy == "OnFailure" and outcome.exit_code != 0)
                )
                if restart:
                    pending_restarts[name] = self.kubelet.clock() + self._restart_delay("containerStatuses", index)
            for index, container in enumerate(containers):
                name = container["name"]
                due = pending_restarts.get(name)
                if due is not None and self.kubelet.clock() >= due and not self._halt.is_set():
                    del pending_restarts[name]
                    self._prepare_restart("containerStatuses", index)
                    run = self._start(pod, container, "containerStatuses", index, mounts)
                    if run is not None:
                        started[name] = run
            running = [run for run in started.values() if id(run) not in recorded]
            if not running and (not pending_restarts or self._halt.is_set()):
                return
            if deadline_at is not None and self.kubelet.clock() >= deadline_at and self._evicted is None:
                self._evicted = "Pod was active on the node longer than the specified deadline"
                self._deadline_exceeded = True
                self.kill_all()
            try:
                self._exits.get(timeout=0.05)
            except queue.Empty:
                pass

    def _restart_delay(self, group: str, index: int) -> float:
        pod = self.kubelet.store.get("pods", self.namespace, self.pod_name)
        restarts = 0
        if pod is not None:
            statuses = pod["status"].get(group) or []
            if index < len(statuses):
                restarts = statuses[index].get("restartCount", 0)
        return min(self.kubelet.restart_backoff * (2**restarts), self.kubelet.restart_backoff * 30)

    def _prepare_restart(self, group: str, index: int) -> None:
        def change(current: dict[str, Any]) -> None:
            status = current["status"][group][index]
            status["lastState"] = status.get("state", {})
            status["restartCount"] = status.get("restartCount", 0) + 1
            status["state"] = {"waiting": {"reason": "ContainerCreating"}}

        self._update(change)

    # MARK: - Containers

    def _start(
        self,
        pod: dict[str, Any],
        container: dict[str, Any],
        group: str,
        index: int,
        mounts: dict[str, str],
    ) -> ContainerRun | None:
        """Starts one run of a container, waiting while its configuration cannot be resolved."""
        name = container["name"]

        def waiting(reason: str, message: str) -> None:
            self._update(
                lambda current: current["status"][group][index].update(
                    state={"waiting": {"reason": reason, "message": message}}
                )
            )

        def event(kind: str, reason: str, message: str) -> None:
            self._event(group, index, container, kind, reason, message)

        if not ensure_image(container.get("image", ""), waiting, event, self._halt, self.kubelet.restart_backoff):
            return None
        while True:
            if self._halt.is_set():
                return None
            try:
                argv, env, cwd = self._configure(pod, container, mounts)
                break
            except ConfigError as error:
                event("Warning", "Failed", f"Error: {error}")
                waiting("CreateContainerConfigError", str(error))
                if self._halt.wait(0.5):
                    return None
        attempt = len(self.logs.get(name, []))
        log_file = LogFile(os.path.join(self.directory, "logs", f"{name}-{attempt}.log"))
        run = ContainerRun(argv, env, cwd, log_file, self.kubelet.clock, self._start_delay)
        limit = self._memory_limit(container)
        with self._lock:
            if self._halt.is_set():
                return None
            self.logs.setdefault(name, []).append(log_file)
            self._runs[name] = run
            run.start()
            if run.running:
                if self._throttle is not None:
                    self._throttle.add(run)
                if limit is not None:
                    self.kubelet.memory.watch(run, limit)
        started = rfc3339(run.started_at)
        container_id = f"fanout://{self.uid[:8]}-{name}-{attempt}"

        def change(current: dict[str, Any]) -> None:
            status = current["status"][group][index]
            status.update(containerID=container_id, started=True, state={"running": {"startedAt": started}})
            if group == "containerStatuses":
                status["ready"] = True

        self._update(change)
        threading.Thread(target=self._notify_exit, args=(run,), daemon=True).start()
        return run

    def _memory_limit(self, container: dict[str, Any]) -> int | None:
        """The container's memory limit in bytes, if it has one."""
        value = ((container.get("resources") or {}).get("limits") or {}).get("memory")
        if value is None:
            return None
        try:
            limit = quantity_bytes(value)
        except ValueError as error:
            log(f"pod {self.pod_name}: container {container['name']}: memory limit not enforced: {error}")
            return None
        return limit if limit > 0 else None

    def _event(
        self, group: str, index: int, container: dict[str, Any], kind: str, reason: str, message: str
    ) -> None:
        """Records a kubelet event about a container; the same event again raises its count, as the kubelet's
        event recorder aggregates them."""
        key = (container["name"], kind, reason, message)
        existing = self._events.get(key)
        now = self._now()
        if existing is not None:

            def again(current: dict[str, Any]) -> None:
                current["count"] = current.get("count", 1) + 1
                current["lastTimestamp"] = now

            self.kubelet.store.mutate("events", self.namespace, existing, again)
            return
        pod = self.kubelet.store.get("pods", self.namespace, self.pod_name)
        if pod is None:
            return
        spec_group = "initContainers" if group == "initContainerStatuses" else "containers"
        name = self.kubelet.registry.record_event(
            pod, kind, reason, message, "kubelet", field_path=f"spec.{spec_group}{{{container['name']}}}"
        )
        if name is not None:
            self._events[key] = name

    def _notify_exit(self, run: ContainerRun) -> None:
        run.wait()
        self._exits.put("exit")

    def _mark_running(self) -> None:
        now = self._now()

        def change(current: dict[str, Any]) -> None:
            status = current["status"]
            status["phase"] = "Running"
            if all(item.get("ready") for item in status.get("containerStatuses", [])):
                _set_condition(status, "Ready", "True", now)
                _set_condition(status, "ContainersReady", "True", now)

        self._update(change)

    def _record_exit(self, group: str, index: int, run: ContainerRun) -> None:
        outcome = run.outcome
        assert outcome is not None
        now = self._now()
        message = outcome.message
        pod = self.kubelet.store.get("pods", self.namespace, self.pod_name)
        if pod is not None and not message and outcome.exit_code != 0:
            spec_group = "initContainers" if group == "initContainerStatuses" else "containers"
            spec = pod["spec"][spec_group][index]
            if spec.get("terminationMessagePolicy") == "FallbackToLogsOnError":
                message = run.log.tail_lines_text(80, 2048)

        def change(current: dict[str, Any]) -> None:
            status = current["status"]
            item = status[group][index]
            terminated: dict[str, Any] = {
                "exitCode": outcome.exit_code,
                "reason": outcome.reason,
                "startedAt": rfc3339(run.started_at),
                "finishedAt": rfc3339(run.finished_at),
                "containerID": item.get("containerID", ""),
            }
            if outcome.signal:
                terminated["signal"] = outcome.signal
            if message:
                terminated["message"] = message
            item.update(state={"terminated": terminated}, ready=False, started=False)
            if group == "containerStatuses":
                unready = [c["name"] for c in status[group] if not c.get("ready")]
                text = f"containers with unready status: [{' '.join(unready)}]"
                _set_condition(status, "Ready", "False", now, "ContainersNotReady", text)
                _set_condition(status, "ContainersReady", "False", now, "ContainersNotReady", text)

        self._update(change)

    def _configure(
        self, pod: dict[str, Any], container: dict[str, Any], mounts: dict[str, str]
    ) -> tuple[list[str], dict[str, str], str]:
        """The argv, environment and working directory of a container, with mount paths rewritten."""
        container_mounts = []
        for mount in container.get("volumeMounts") or []:
            host = mounts.get(mount.get("name", ""))
            if host is None:
                continue
            if mount.get("subPath"):
                host = os.path.join(host, mount["subPath"])
                os.makedirs(host, exist_ok=True)
            container_mounts.append((mount["mountPath"].rstrip("/") or "/", host))
        container_mounts.sort(key=lambda item: len(item[0]), reverse=True)

        def rewrite(text: str) -> str:
            for mount_path, host in container_mounts:
                text = re.sub(r"(?<![\w.\-/])" + re.escape(mount_path) + r"(?=$|[^\w.\-])", lambda _: host, text)
            return text

        env = dict(self.kubelet.base_env)
        env["HOSTNAME"] = pod["spec"].get("hostname") or self.pod_name
        env["HOME"] = os.path.join(self.directory, "tmp")
        env["TMPDIR"] = os.path.join(self.directory, "tmp")
        for mount in container.get("volumeMounts") or []:
            host = mounts.get(mount.get("name", ""))
            if host is not None:
                env["KUBE_TEST_VOLUME_" + re.sub(r"[^A-Za-z0-9]", "_", mount["name"]).upper()] = host
        namespace = pod["metadata"]["namespace"]
        for source in container.get("envFrom") or []:
            prefix = source.get("prefix", "")
            if "configMapRef" in source:
                reference = source["configMapRef"]
                values = self._config_values(
                    "configmaps", namespace, reference.get("name", ""), reference.get("optional")
                )
            else:
                reference = source.get("secretRef") or {}
                values = self._config_values("secrets", namespace, reference.get("name", ""), reference.get("optional"))
            for key, value in values.items():
                env[prefix + key] = value
        for variable in container.get("env") or []:
            name = variable["name"]
            if variable.get("valueFrom"):
                value = self._value_from(pod, container, variable["valueFrom"])
                if value is None:
                    continue
            else:
                value = expand(variable.get("value", ""), env)
            env[name] = rewrite(value)
        command = [expand(item, env) for item in container.get("command") or []]
        args = [expand(item, env) for item in container.get("args") or []]
        argv = [rewrite(item) for item in command + args]
        cwd = os.path.join(self.directory, "tmp")
        working_dir = container.get("workingDir")
        if working_dir:
            candidate = rewrite(working_dir)
            try:
                os.makedirs(candidate, exist_ok=True)
                cwd = candidate
            except OSError:
                log(f"pod {self.pod_name}: workingDir {working_dir} cannot be created on this host; using {cwd}")
        return argv, env, cwd

    def _config_values(self, resource: str, namespace: str, name: str, optional: bool | None) -> dict[str, str]:
        obj = self.kubelet.store.get(resource, namespace, name)
        if obj is None:
            if optional:
                return {}
            singular = "secret" if resource == "secrets" else "configmap"
            raise ConfigError(f'{singular} "{name}" not found')
        if resource == "secrets":
            return {
                key: base64.b64decode(value).decode("utf-8", "replace")
                for key, value in (obj.get("data") or {}).items()
            }
        values = dict(obj.get("data") or {})
        for key, value in (obj.get("binaryData") or {}).items():
            values[key] = base64.b64decode(value).decode("utf-8", "replace")
        return values

    def _value_from(self, pod: dict[str, Any], container: dict[str, Any], source: dict[str, Any]) -> str | None:
        namespace = pod["metadata"]["namespace"]
        for resource, key in (("secrets", "secretKeyRef"), ("configmaps", "configMapKeyRef")):
            reference = source.get(key)
            if reference is None:
                continue
            values = self._config_values(resource, namespace, reference.get("name", ""), reference.get("optional"))
            if reference.get("key") not in values:
                if reference.get("optional"):
                    return None
                singular = "secret" if resource == "secrets" else "configmap"
                raise ConfigError(
                    f"couldn't find key {reference.get('key')} in {singular.capitalize()} "
                    f"{namespace}/{reference.get('name')}"
                )
            return values[reference["key"]]
        if "fieldRef" in source:
            current = self.kubelet.store.get("pods", self.namespace, self.pod_name) or pod
            return field_value(current, source["fieldRef"].get("fieldPath", ""))
        if "resourceFieldRef" in source:
            reference = source["resourceFieldRef"]
            kind, _, resource_name = reference.get("resource", "").partition(".")
            value = ((container.get("resources") or {}).get(kind) or {}).get(resource_name)
            if value is None:
                value = str(os.cpu_count() or 1) if resource_name == "cpu" else str(8 * 1024**3)
            return str(value)
        return None

    def _prepare_volumes(self, pod: dict[str, Any]) -> dict[str, str] | None:
        """A directory per emptyDir, configMap and secret volume; other volume types are not mounted."""
        mounts: dict[str, str] = {}
        namespace = pod["metadata"]["namespace"]
        for volume in pod["spec"].get("volumes") or []:
            name = volume["name"]
            directory = os.path.join(self.directory, "volumes", name)
            if "emptyDir" in volume:
                os.makedirs(directory, exist_ok=True)
                mounts[name] = directory
            elif "configMap" in volume or "secret" in volume:
                is_secret = "secret" in volume
                source = volume["secret"] if is_secret else volume["configMap"]
                object_name = source.get("secretName" if is_secret else "name", "")
                while True:
                    try:
                        values = self._config_values(
                            "secrets" if is_secret else "configmaps", namespace, object_name, source.get("optional")
                        )
                        break
                    except ConfigError:
                        if self._halt.wait(0.5):
                            return None
                os.makedirs(directory, exist_ok=True)
                items = source.get("items")
                chosen = [(item["key"], item["path"]) for item in items] if items else [(key, key) for key in values]
                for key, path in chosen:
                    if key in values:
                        target = os.path.join(directory, path)
                        os.makedirs(os.path.dirname(target), exist_ok=True)
                        with open(target, "w") as file:
                            file.write(values[key])
                mounts[name] = directory
        return mounts

    # MARK: - The end

    def _finish(self, pod: dict[str, Any], failed_message: str | None = None) -> None:
        now = self._now()
        evicted = self._evicted
        deadline = self._deadline_exceeded
        restart_policy = pod["spec"].get("restartPolicy", "Always")

        def change(current: dict[str, Any]) -> None:
            status = current["status"]
            exits = []
            for group in ("initContainerStatuses", "containerStatuses"):
                for item in status.get(group) or []:
                    terminated = item.get("state", {}).get("terminated")
                    if terminated is None:
                        # Never started: it ends without having run.
                        item["state"] = {
                            "terminated": {
                                "exitCode": 137,
                                "reason": "ContainerStatusUnknown",
                                "message": "The container could not be located when the pod was terminated",
                                "startedAt": None,
                                "finishedAt": now,
                            }
                        }
                        item["ready"] = False
                        terminated = item["state"]["terminated"]
                    if group == "containerStatuses":
                        exits.append(terminated.get("exitCode", 0))
                    elif terminated.get("exitCode", 0) != 0:
                        exits.append(terminated["exitCode"])
            succeeded = bool(exits) and all(code == 0 for code in exits) and not evicted and not failed_message
            if restart_policy == "Always" and not self._deleting:
                succeeded = False
            status["phase"] = "Succeeded" if succeeded else "Failed"
            if evicted:
                status["reason"] = "DeadlineExceeded" if deadline else "Evicted"
                status["message"] = evicted
            elif failed_message:
                status["message"] = failed_message
            reason = "PodCompleted" if status["phase"] == "Succeeded" else "PodFailed"
            _set_condition(status, "Ready", "False", now, reason)
            _set_condition(status, "ContainersReady", "False", now, reason)
            _set_condition(status, "PodReadyToStartContainers", "False", now)
            if not any(
                c.get("type") == "Initialized" and c.get("status") == "True" for c in status.get("conditions", [])
            ):
                _set_condition(status, "Initialized", "False", now, reason)

        self._update(change)
        if self._deleting:
            self.kubelet.store.delete("pods", self.namespace, self.pod_name)


def _evicted(pod: dict[str, Any], message: str) -> None:
    status = pod.setdefault("status", {})
    if status.get("phase") not in TERMINAL_PHASES:
        status.update(phase="Failed", reason="Evicted", message=message)


def _container_status(container: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    image = container.get("image", "")
    return {
        "name": container["name"],
        "image": image,
        "imageID": "",
        "ready": False,
        "started": False,
        "restartCount": 0,
        "state": state,
        "lastState": {},
    }


def _set_condition(
    status: dict[str, Any], kind: str, value: str, now: str, reason: str | None = None, message: str | None = None
) -> None:
    """Sets a pod condition, keeping lastTransitionTime when the status does not change."""
    conditions = status.setdefault("conditions", [])
    for item in conditions:
        if item["type"] == kind:
            if item.get("status") != value:
                item["lastTransitionTime"] = now
            item["status"] = value
            item["lastProbeTime"] = None
            for key, text in (("reason", reason), ("message", message)):
                if text:
                    item[key] = text
                else:
                    item.pop(key, None)
            return
    item = {"type": kind, "status": value, "lastProbeTime": None, "lastTransitionTime": now}
    if reason:
        item["reason"] = reason
    if message:
        item["message"] = message
    conditions.append(item)


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes $(VAR) expansion: defined variables are substituted, $$ is a literal $, others stay as written."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return env[name] if name in env else match.group(0)

    return _VARIABLE.sub(replace, text)


_ANNOTATION_FIELD = re.compile(r"^metadata\.(labels|annotations)\['([^']+)'\]$")


def field_value(pod: dict[str, Any], path: str) -> str:
    """A downward-API fieldRef value."""
    metadata = pod["metadata"]
    match = _ANNOTATION_FIELD.match(path)
    if match:
        return (metadata.get(match.group(1)) or {}).get(match.group(2), "")
    simple = {
        "metadata.name": metadata.get("name", ""),
        "metadata.namespace": metadata.get("namespace", ""),
        "metadata.uid": metadata.get("uid", ""),
        "spec.nodeName": pod["spec"].get("nodeName", NODE_NAME),
        "spec.serviceAccountName": pod["spec"].get("serviceAccountName", "default"),
        "status.hostIP": POD_IP,
        "status.hostIPs": POD_IP,
        "status.podIP": POD_IP,
        "status.podIPs": POD_IP,
    }
    return simple.get(path, "")


def node_matches(spec: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a node with `labels` satisfies the pod's nodeSelector and its required node affinity (terms ORed,
    expressions ANDed; operators In, NotIn, Exists, DoesNotExist)."""
    for key, value in (spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    if not terms:
        return True

    def holds(expression: dict[str, Any]) -> bool:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if operator == "In":
            return labels.get(key) in values
        if operator == "NotIn":
            return labels.get(key) not in values
        if operator == "Exists":
            return key in labels
        if operator == "DoesNotExist":
            return key not in labels
        return False

    return any(all(holds(expression) for expression in term.get("matchExpressions") or []) for term in terms)


def missing_resources(spec: dict[str, Any], allocatable: dict[str, int]) -> list[str]:
    """The extended resources (names with a `/`, such as nvidia.com/gpu) the pod's containers ask for beyond what
    the node offers."""
    wanted: dict[str, int] = {}
    for container in spec.get("containers") or []:
        resources = container.get("resources") or {}
        for name, value in {**(resources.get("requests") or {}), **(resources.get("limits") or {})}.items():
            if "/" in name:
                wanted[name] = wanted.get(name, 0) + int(str(value))
    return sorted(name for name, count in wanted.items() if count > allocatable.get(name, 0))
