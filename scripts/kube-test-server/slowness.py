"""Slow pods, as on a straggler node: the rules that pick which pods the scheduler binds to the slow node, and the
throttle that makes a slow pod's processes run slower there.

A rule names pods by namespace and label selector and slows the next `count` pods the scheduler binds that match
(default 1: "the first pod of index 3 of Job map" is `job-name=map,batch.kubernetes.io/job-completion-index=3`, and its
replacement is an ordinary pod). On the slow node each container's command starts `startDelaySeconds` after its
container does (the container is running meanwhile; runtime.py), and the throttle stops (SIGSTOP) and continues
(SIGCONT) the container's process group so that it runs `periodSeconds / factor` of every `periodSeconds`. CPU-bound
work, and work made of many short waits, goes about `factor` times slower; a single long `sleep` does not, since its
timer runs while the process is stopped. A running pod can also be held: its processes stopped for `holdSeconds`
from now, then throttled.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from labels import LabelSelector

SLOW_NODE_NAME = "fanout-test-node-slow"
DEFAULT_PERIOD = 0.1  # seconds per run-and-stop cycle
_SHORTEST_WAIT = 0.001


def _number(value: Any, name: str, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise ValueError(f"{name} must be a number, at least {minimum:g}")
    return float(value)


@dataclass(frozen=True)
class Slowness:
    """How slow a pod runs: its processes `factor` times slower, cycling every `period` seconds; for a pod on the
    slow node, each command started `start_delay` seconds late; for a running pod, stopped for `hold` seconds first."""

    factor: float = 1.0
    period: float = DEFAULT_PERIOD
    start_delay: float = 0.0
    hold: float = 0.0

    @classmethod
    def from_json(cls, value: Any, delay: str, others: tuple[str, ...] = ()) -> Slowness:
        """From a JSON object with `factor`, `periodSeconds` and `delay` ("startDelaySeconds" for a rule,
        "holdSeconds" for a running pod), and `others`, left to the caller."""
        fields = ("factor", "periodSeconds", delay, *others)
        if not isinstance(value, dict):
            raise ValueError("expected a JSON object")
        unknown = set(value) - set(fields)
        if unknown:
            raise ValueError(f"unknown fields: {sorted(unknown)}; known: {list(fields)}")
        seconds = _number(value.get(delay, 0), delay, 0)
        return cls(
            factor=_number(value.get("factor", 1), "factor", 1),
            period=_number(value.get("periodSeconds", DEFAULT_PERIOD), "periodSeconds", 0.01),
            start_delay=seconds if delay == "startDelaySeconds" else 0.0,
            hold=seconds if delay == "holdSeconds" else 0.0,
        )

    def to_json(self, delay: str = "startDelaySeconds") -> dict[str, Any]:
        seconds = self.hold if delay == "holdSeconds" else self.start_delay
        return {"factor": self.factor, "periodSeconds": self.period, delay: seconds}

    @property
    def throttles(self) -> bool:
        """Whether the processes need the throttle (a start delay needs none)."""
        return self.factor > 1 or self.hold > 0

    @property
    def slows(self) -> bool:
        return self.throttles or self.start_delay > 0


@dataclass
class SlowRule:
    """Slows the next `count` pods bound that match (None: every one until the rules are cleared)."""

    slowness: Slowness
    selector: str = ""
    namespace: str | None = None
    count: int | None = 1

    @classmethod
    def from_json(cls, value: Any) -> SlowRule:
        slowness = Slowness.from_json(value, "startDelaySeconds", others=("namespace", "selector", "count"))
        if not slowness.slows:
            raise ValueError("say how slow: a factor above 1 or a startDelaySeconds above 0")
        count = value.get("count", 1)
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise ValueError("count must be a positive integer, or null for every matching pod")
        selector = value.get("selector") or ""
        LabelSelector.parse(selector)  # a selector that does not parse is refused now, not at scheduling
        namespace = value.get("namespace")
        if namespace is not None and not isinstance(namespace, str):
            raise ValueError("namespace must be a string")
        return cls(slowness, selector, namespace, count)

    def matches(self, pod: dict[str, Any]) -> bool:
        metadata = pod["metadata"]
        return self.namespace in (None, metadata.get("namespace")) and LabelSelector.parse(self.selector).matches(
            metadata.get("labels")
        )

    def to_json(self) -> dict[str, Any]:
        return {"namespace": self.namespace, "selector": self.selector, "count": self.count, **self.slowness.to_json()}


class SlowPods:
    """The slow-pod rules and the pods they have slowed so far; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[SlowRule] = []
        self._slowed: list[dict[str, Any]] = []

    def add(self, rule: SlowRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def take(self, pod: dict[str, Any]) -> Slowness | None:
        """The slowness of a pod being bound: the first rule that matches it (using one of its count), or None."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(pod):
                    if rule.count is not None:
                        rule.count -= 1
                        if rule.count <= 0:
                            self._rules.remove(rule)
                    metadata = pod["metadata"]
                    self._slowed.append(
                        {"namespace": metadata["namespace"], "name": metadata["name"], **rule.slowness.to_json()}
                    )
                    return rule.slowness
        return None

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.to_json() for rule in self._rules]

    def slowed(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._slowed)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._slowed.clear()


class Signalled(Protocol):
    """A container run whose process group can be signalled."""

    @property
    def running(self) -> bool: ...

    def send(self, signum: int) -> None: ...


class Throttle:
    """Runs one pod's containers slower: stops (SIGSTOP) and continues (SIGCONT) their process groups on the duty
    cycle of a Slowness, after its hold. The hold and the cycle start when the throttle is made or changed."""

    def __init__(self, slowness: Slowness, name: str = "throttle", clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._slowness = slowness
        self._runs: list[Signalled] = []
        self._origin = clock()  # when the hold began: the throttle made, or last changed
        self._stopped = False  # whether the runs are stopped now
        self._released = False
        self._condition = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def slowness(self) -> Slowness:
        return self._slowness

    @property
    def stopped(self) -> bool:
        with self._condition:
            return self._stopped

    def add(self, run: Signalled) -> None:
        """A container process just started: it is stopped at once when the cycle says so."""
        with self._condition:
            if self._released:
                return
            self._runs.append(run)
            if self._stopped:
                run.send(signal.SIGSTOP)
            self._apply()
            self._condition.notify_all()

    def change(self, slowness: Slowness) -> None:
        """A new slowness from now: its hold, if any, starts now. A released throttle stays released."""
        with self._condition:
            if self._released:
                return
            self._slowness = slowness
            self._origin = self.clock()
            self._apply()
            self._condition.notify_all()

    def release(self) -> None:
        """Continues every process and ends the cycle (the pod is stopping, or ended)."""
        with self._condition:
            self._released = True
            if self._stopped:
                self._signal(signal.SIGCONT)
                self._stopped = False
            self._condition.notify_all()

    def phase(self, now: float) -> tuple[bool, float | None]:
        """Whether the processes should be stopped at `now`, and until when that holds (None: until something
        changes)."""
        slowness = self._slowness
        hold_end = self._origin + slowness.hold
        if now < hold_end:
            return True, hold_end
        if slowness.factor <= 1:
            return False, None
        running_for = slowness.period / slowness.factor
        into = (now - hold_end) % slowness.period
        if into < running_for:
            return False, now + max(running_for - into, _SHORTEST_WAIT)
        return True, now + max(slowness.period - into, _SHORTEST_WAIT)

    def _apply(self) -> float | None:
        """Moves the runs to the phase of now (the condition's lock held); returns when the phase ends."""
        self._runs = [run for run in self._runs if run.running]
        stopped, until = self.phase(self.clock())
        if stopped != self._stopped:
            self._signal(signal.SIGSTOP if stopped else signal.SIGCONT)
            self._stopped = stopped
        return until

    def _signal(self, signum: int) -> None:
        for run in self._runs:
            run.send(signum)

    def _loop(self) -> None:
        with self._condition:
            while not self._released:
                until = self._apply()
                self._condition.wait(None if until is None else max(until - self.clock(), _SHORTEST_WAIT))
