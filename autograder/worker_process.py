"""The worker's process as the judge holds it: started (through :mod:`autograder.spawn`), spoken to over its
socket, its output drained, and ended with everything it started (:mod:`autograder.reaper`)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time

from autograder import folderwatch, protocol, reaper, spawn
from autograder.isolation import IsolationRefused, Policy
from autograder.limits import Limits

GRACE = 5.0                 # seconds the judge waits past a limit the worker's own alarm enforces, then kills
OUTPUT_KEEP = 64 * 1024     # bytes of the worker's stdout/stderr kept (the tail), whatever it prints


class WorkerLost(Exception):
    """The worker died, hung past its limit, or sent something that is not a valid message."""

    def __init__(self, reason: str, detail: str = ""):
        self.reason = reason          # "timeout", "died", "protocol", "stale"
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class OutputTail:
    """Drains a pipe in a thread, keeping only the last ``OUTPUT_KEEP`` bytes and a byte count."""

    def __init__(self, pipe):
        self.pipe = pipe
        self.total = 0
        self.tail = bytearray()
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self):
        while True:
            chunk = self.pipe.read1(1 << 16) if hasattr(self.pipe, "read1") else self.pipe.read(1 << 16)
            if not chunk:
                return
            self.total += len(chunk)
            self.tail += chunk
            if len(self.tail) > OUTPUT_KEEP:
                del self.tail[: len(self.tail) - OUTPUT_KEEP]

    def text(self, wait: float = 0.0) -> str:
        """What was kept so far; ``wait`` for the writer's end first (once the process is gone)."""
        if wait:
            self.thread.join(timeout=wait)
        body = bytes(self.tail).decode("utf-8", errors="replace")
        if self.total > OUTPUT_KEEP:
            return f"[… {self.total - OUTPUT_KEEP} bytes cut …]\n" + body
        return body


class WorkerProcess:
    """One worker process and the socket to it."""

    def __init__(self, limits: Limits, workdir: str, hide=(), policy: Policy = Policy()):
        self.limits = limits
        self.proc, self.sock, output = spawn.start(limits, workdir, worker_environment(workdir), hide)
        self.output = OutputTail(output)
        # the worker's first frame, sent before student code runs: the measures it is under
        header, _ = self.receive(time.monotonic() + 60)
        try:
            self.isolation = protocol.sandbox_report(header)
        except protocol.ProtocolError as exc:
            self.kill()
            raise WorkerLost("protocol", str(exc)) from None
        try:                          # no student code reaches a worker that is not isolated enough
            self.isolated = policy.admit(self.isolation)
        except IsolationRefused:
            self.close()
            raise
        self.watch = folderwatch.watch(self, workdir, limits)     # where no tmpfs bounds its folder

    def send(self, header: dict, buffers=()) -> None:
        try:
            protocol.write_frame(self.sock, header, list(buffers))
        except (OSError, protocol.ProtocolError) as exc:
            raise WorkerLost("died", str(exc)) from None

    def receive(self, deadline: float) -> tuple[dict, list[bytes]]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            self.kill()
            raise WorkerLost("timeout")
        self.sock.settimeout(remaining)
        try:
            frame = protocol.read_frame(self.sock)
        except (socket.timeout, TimeoutError):
            self.kill()
            raise WorkerLost("timeout") from None
        except (EOFError, ConnectionError, OSError):
            code = self.wait()
            raise WorkerLost("died", folderwatch.verdict(self) or exit_description(code)) from None
        except protocol.ProtocolError as exc:
            self.kill()
            raise WorkerLost("protocol", str(exc)) from None
        if (verdict := folderwatch.check(self, frame[0])) is not None:    # a cell that wrote too much ends here
            self.kill()
            raise WorkerLost("died", verdict)
        return frame

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout: float = 5) -> int | None:
        code = self.proc.wait(timeout)
        if code is None:
            self.kill()
            code = self.proc.poll()
        return code

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(5)

    def close(self) -> None:
        """End the worker and everything it started (:mod:`autograder.reaper`); raise
        :class:`~autograder.reaper.LeftBehind` (again at every later call) if something outlived it."""
        if getattr(self, "left_behind", None) is not None:
            raise self.left_behind
        if self.alive():
            with contextlib.suppress(WorkerLost):
                self.send({"op": "bye"})
            self.proc.wait(2)
        self.kill()         # also whatever it left behind in its process group
        self.sock.close()
        try:
            reaper.reap(self.proc.pid, "uid" in getattr(self, "isolation", ()), self.proc)
        except reaper.LeftBehind as exc:
            self.left_behind = exc
            raise
        finally:
            getattr(self, "watch", folderwatch.Unwatched()).stop(empty=getattr(self, "left_behind", None) is None)


def kill_uid(uid: int, patience: float = reaper.PATIENCE) -> bool:
    """Kill every process of ``uid`` (a worker's own) until none runs; False if some still do after
    ``patience`` seconds (see :func:`autograder.reaper.kill_uid`)."""
    return not reaper.kill_uid(uid, time.monotonic() + patience)


def running_as(uid: int) -> list[int]:
    """The processes of ``uid`` that still run (zombies do not: they only wait to be reaped)."""
    return reaper.running_as(uid)


def exit_description(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def worker_environment(workdir: str) -> dict:
    """A scrubbed environment: nothing of the instructor's shell reaches student code."""
    keep = spawn.base_environment()     # PYTHONHASHSEED=0 among them: set order is part of determinism
    keep.update({
        "HOME": workdir,
        "TMPDIR": workdir,
        "PYTHONIOENCODING": "utf-8",
        "MPLCONFIGDIR": workdir,
        "MKL_NUM_THREADS": "1",
        "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
    })
    return keep
