"""The container runtime: one container run is one local process (its own session and process group: the container's
processes are that group), with stdout and stderr captured to a log file, line by line, each line's arrival time
remembered for `timestamps` and `sinceSeconds`. A run OOM-killed by the memory watch (memory.py) ends with reason
OOMKilled, as containerd reports a container whose cgroup ran out of memory. A run with a start delay (a pod on the
slow node) is a shell that sleeps, then execs the command: same process, same group, the command started late."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from memory import session_members
from meta import rfc3339_nano

SLEEP = shutil.which("sleep") or "/bin/sleep"  # this host's, whatever PATH the container has


class LogFile:
    """The output of one container run. Appended by the run's reader thread, read by log requests."""

    def __init__(self, path: str):
        self.path = path
        self.line_times: list[float] = []
        self.complete = threading.Event()  # set once the process has exited and its output is drained
        self._lock = threading.Lock()
        open(path, "wb").close()

    def append(self, data: bytes, when: float) -> None:
        with self._lock:
            with open(self.path, "ab") as file:
                file.write(data)
            self.line_times.append(when)

    def size(self) -> int:
        return os.path.getsize(self.path)

    def read(
        self,
        *,
        tail_lines: int | None = None,
        limit_bytes: int | None = None,
        timestamps: bool = False,
        since: float | None = None,
    ) -> bytes:
        with self._lock:
            with open(self.path, "rb") as file:
                data = file.read()
            times = list(self.line_times)
        lines = data.splitlines(keepends=True)
        pairs = list(zip(lines, times + [time.time()] * (len(lines) - len(times))))
        if since is not None:
            pairs = [pair for pair in pairs if pair[1] >= since]
        if tail_lines is not None:
            pairs = pairs[-tail_lines:] if tail_lines > 0 else []
        if timestamps:
            output = b"".join(rfc3339_nano(when).encode() + b" " + line for line, when in pairs)
        else:
            output = b"".join(line for line, _ in pairs)
        if limit_bytes is not None:
            output = output[:limit_bytes]
        return output

    def tail_lines_text(self, count: int, limit: int) -> str:
        """The last `count` lines, at most `limit` bytes: the termination message of FallbackToLogsOnError."""
        text = self.read(tail_lines=count)[-limit:]
        return text.decode("utf-8", "replace")


@dataclass
class Outcome:
    exit_code: int
    reason: str  # Completed, Error, OOMKilled or StartError
    message: str = ""
    signal: int | None = None


class ContainerRun:
    """One run of one container's command as a local process."""

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        cwd: str,
        log: LogFile,
        clock: Callable[[], float] = time.time,
        start_delay: float = 0.0,
    ):
        self.argv = argv
        self.env = env
        self.cwd = cwd
        self.log = log
        self.clock = clock
        self.start_delay = start_delay
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.finished_at = 0.0
        self.outcome: Outcome | None = None
        self.killed_by: int | None = None
        self.oom_killed = False
        self._reader: threading.Thread | None = None

    def start(self) -> None:
        """Starts the process; a command that cannot be run becomes a StartError outcome (exit code 128)."""
        self.started_at = self.clock()
        argv = self.argv
        if self.start_delay > 0 and _executable(argv, self.env, self.cwd):
            # A command that cannot run is not delayed: it fails as StartError at once, as without a delay.
            argv = ["/bin/sh", "-c", '"$0" "$1" && shift && exec "$@"', SLEEP, f"{self.start_delay:.3f}", *argv]
        try:
            self.process = subprocess.Popen(
                argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except (OSError, ValueError) as error:
            detail = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            message = f'failed to start container process: exec: "{self.argv[0] if self.argv else ""}": {detail}'
            self.log.append((message + "\n").encode(), self.clock())
            self.log.complete.set()
            self.finished_at = self.clock()
            self.outcome = Outcome(128, "StartError", message)
            return
        self._reader = threading.Thread(target=self._read_output, name=f"log-{self.process.pid}", daemon=True)
        self._reader.start()

    def _read_output(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        with self.process.stdout:
            for line in iter(self.process.stdout.readline, b""):
                self.log.append(line, self.clock())

    def wait(self) -> Outcome:
        """Blocks until the process has exited and its output is in the log."""
        if self.outcome is not None:
            return self.outcome
        assert self.process is not None
        code = self.process.wait()
        # A container ends with its main process: whatever it left running in its group goes too.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self._reader is not None:
            self._reader.join()
        self.finished_at = self.clock()
        self.log.complete.set()
        if self.oom_killed:
            # The runtime names the OOM kill whatever the main process's status (137 when it was among the killed).
            self.outcome = Outcome(128 - code if code < 0 else code, "OOMKilled")
        elif code < 0:
            self.outcome = Outcome(128 - code, "Error", signal=-code)
        else:
            self.outcome = Outcome(code, "Completed" if code == 0 else "Error")
        return self.outcome

    @property
    def running(self) -> bool:
        return self.process is not None and self.outcome is None and self.process.poll() is None

    @property
    def group(self) -> int | None:
        """The process group id of the container's processes (the first process's pid), once started."""
        return self.process.pid if self.process is not None else None

    def oom_kill(self, usage: int) -> None:
        """Kills every process of the container, as the OOM killer does to a cgroup over its memory limit."""
        if not self.running:
            return
        self.oom_killed = True
        group = self.group
        self.send(signal.SIGKILL)
        # Children that lead process groups of their own are still in the container's session.
        for pid in session_members(group) if group is not None else []:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def send(self, signum: int) -> None:
        """Signals the whole process group (a shell and its children)."""
        if self.process is None or self.process.poll() is not None:
            return
        if signum == signal.SIGKILL and self.killed_by is None:
            self.killed_by = signum
        try:
            os.killpg(self.process.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


def _executable(argv: list[str], env: dict[str, str], cwd: str) -> bool:
    """Whether argv[0] names an executable, looked up as the process start looks it up (the child's PATH)."""
    if not argv or not argv[0]:
        return False
    if "/" in argv[0]:
        return os.access(os.path.join(cwd, argv[0]), os.X_OK)
    return shutil.which(argv[0], path=env.get("PATH", os.defpath)) is not None
