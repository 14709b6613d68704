"""Memory limits without cgroups: the resident memory of each container's process group, sampled from /proc, and
the watch that kills a container over its `resources.limits.memory`, as the kernel's OOM killer kills a container
whose cgroup exceeds its limit (all its processes: memory.oom.group, as the kubelet sets on cgroup v2).

A container's processes are its session (runtime.py starts each run in a new session, whose id is its leader's pid
and process group; programs in the container may start process groups of their own, which stay in the session). The
sum of their resident set sizes stands in for the cgroup's charge: shared pages count once per process, the page cache not at all,
and an allocation faster than the poll interval can overshoot the limit before the kill.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Protocol

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
POLL_INTERVAL = 0.05  # seconds between samples while some container has a limit


def resident_by_group(proc: str = "/proc") -> dict[int, int]:
    """The resident bytes of this host's processes, summed per session id (a container's)."""
    totals: dict[int, int] = {}
    try:
        entries = os.listdir(proc)
    except OSError:
        return totals
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(os.path.join(proc, entry, "stat"), "rb") as file:
                stat = file.read()
        except OSError:
            continue  # the process ended between the listing and the read
        # "pid (comm) state ppid pgrp session ... vsize rss ...": comm may hold spaces and parentheses.
        fields = stat[stat.rfind(b")") + 2 :].split()
        try:
            group, pages = int(fields[3]), int(fields[21])
        except (IndexError, ValueError):
            continue
        totals[group] = totals.get(group, 0) + pages * PAGE_SIZE
    return totals


def session_members(session: int, proc: str = "/proc") -> list[int]:
    """The pids of this host's processes in `session`."""
    members = []
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        try:
            with open(os.path.join(proc, entry, "stat"), "rb") as file:
                stat = file.read()
            if int(stat[stat.rfind(b")") + 2 :].split()[3]) == session:
                members.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return members


class Limited(Protocol):
    """What the watch needs of a container run: its process group, whether it still runs, and the OOM kill."""

    @property
    def group(self) -> int | None: ...

    @property
    def running(self) -> bool: ...

    def oom_kill(self, usage: int) -> None: ...


class MemoryWatch:
    """One thread that samples the resident memory of every watched container while any is watched, and OOM-kills
    each one found over its limit. A run leaves the watch when it ends or is killed."""

    def __init__(
        self,
        interval: float = POLL_INTERVAL,
        sample: Callable[[], dict[int, int]] = resident_by_group,
    ):
        self.interval = interval
        self.sample = sample
        self._watched: dict[int, tuple[Limited, int]] = {}  # id(run): (run, limit in bytes)
        self._lock = threading.Lock()
        self._changed = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="memory-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._changed.set()

    def watch(self, run: Limited, limit: int) -> None:
        """Keeps `run` under `limit` bytes from now until it ends."""
        with self._lock:
            self._watched[id(run)] = (run, limit)
        self._changed.set()

    @property
    def watched(self) -> int:
        with self._lock:
            return len(self._watched)

    def check(self) -> list[Limited]:
        """One sample: OOM-kills the watched runs over their limits and returns them; forgets the runs that ended."""
        with self._lock:
            items = list(self._watched.items())
        if not items:
            return []
        usage = self.sample()
        killed = []
        for key, (run, limit) in items:
            group = run.group
            if not run.running or group is None:
                with self._lock:
                    self._watched.pop(key, None)
                continue
            used = usage.get(group, 0)
            if used > limit:
                with self._lock:
                    self._watched.pop(key, None)
                run.oom_kill(used)
                killed.append(run)
        return killed

    def _loop(self) -> None:
        while not self._stopping.is_set():
            if not self.watched:
                self._changed.wait()
                self._changed.clear()
                continue
            try:
                self.check()
            except Exception as error:  # a sampling error must not end the watch
                print(f"{time.strftime('%H:%M:%S')} kubelet: memory watch: {error!r}", file=sys.stderr, flush=True)
            self._stopping.wait(self.interval)
