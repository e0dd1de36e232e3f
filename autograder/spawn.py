"""Starting worker processes: from a pre-warmed fork server, or as a plain new interpreter.

Both give a :class:`Process` (pid, ``poll``, ``wait``), the judge's end of the worker's socket, and
the read end of its output pipe.  The fork server is started once per judge process, lazily, and
serves every submission that judge grades; the processes of a judge pool each get a clone of their
parent's server instead (one warm-up for the whole class).  If no server can be had, the judge falls
back to plain interpreters (slower, same behaviour).
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

from autograder import ENGINE
from autograder.limits import Limits


class Process:
    """A worker process as the judge sees it."""

    pid: int

    def poll(self) -> int | None:
        raise NotImplementedError

    def peak_kib(self) -> int | None:
        """The largest resident set of the ended worker, in KiB, where known."""
        return None

    def left_behind(self) -> list[int]:
        """The processes of the ended worker that its fork server could not kill (see :mod:`autograder.reaper`)."""
        return []

    def wait(self, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while (code := self.poll()) is None and time.monotonic() < deadline:
            time.sleep(0.005)
        return code


class Popened(Process):
    def __init__(self, popen: subprocess.Popen):
        self.popen = popen
        self.pid = popen.pid

    def poll(self):
        return self.popen.poll()


class Forked(Process):
    def __init__(self, server: "ForkServer", pid: int):
        self.server = server
        self.pid = pid

    def poll(self):
        return self.server.status(self.pid)

    def peak_kib(self) -> int | None:
        return self.server.peaks.get(self.pid)

    def left_behind(self) -> list[int]:
        return self.server.left.get(self.pid, [])


# Passed from the grading process to its workers, when set: which devices and which processor kernels
# to use. The judge computes references with the kernels the worker's student code uses (ATen's, MKL's
# and oneDNN's instruction-set choices change a float's last bits), and a machine that pins them (say,
# MKL_CBWR for reproducible results across CPUs) pins them for both.
PASSED_THROUGH = ("CUDA_VISIBLE_DEVICES", "ATEN_CPU_CAPABILITY", "MKL_CBWR", "MKL_ENABLE_INSTRUCTIONS",
                  "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")


def base_environment() -> dict:
    # PATH is the system's, not the instructor's: it would tell where their home and tools are
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "PYTHONHASHSEED": "0", "LANG": "C.UTF-8",
           "LC_ALL": "C.UTF-8", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    env.update({name: os.environ[name] for name in PASSED_THROUGH if name in os.environ})
    return env

# ``python -c BOOT ENGINE MODULE ARGS...``: run MODULE of this very copy of the engine, whatever else
# is installed (a Gradescope zip beside a course checkout): judge and worker must speak one protocol.
BOOT = ("import runpy, sys; sys.path.insert(0, sys.argv[1]); module = sys.argv[2]; "
        "sys.argv = [module] + sys.argv[3:]; runpy.run_module(module, run_name='__main__', alter_sys=True)")


def matplotlib_folder() -> str:
    """Where the fork server's matplotlib keeps its font cache. The user's own (MPLCONFIGDIR, else
    ~/.config/matplotlib) where it can be written; else one folder per uid in the temporary folder,
    made 0700 and reused by every run. (Given none, matplotlib makes a new temporary folder at each
    start, leaves it behind, and builds its font cache again: a second of every run.)"""
    if os.environ.get("MPLCONFIGDIR"):
        return os.environ["MPLCONFIGDIR"]
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    default = os.path.join(config, "matplotlib")
    existing = next((p for p in (default, config, os.path.dirname(config)) if os.path.isdir(p)), None)
    if existing is not None and os.access(existing, os.W_OK | os.X_OK):
        return default
    folder = os.path.join(tempfile.gettempdir(), f"course-matplotlib-{os.getuid()}")
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return tempfile.mkdtemp(prefix="course-matplotlib-")
    info = os.lstat(folder)           # someone else's, or a link planted there: a folder of our own instead
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        return tempfile.mkdtemp(prefix="course-matplotlib-")
    return folder


def engine_command(module: str, *args: str) -> list[str]:
    return [sys.executable, "-s", "-c", BOOT, ENGINE, module, *args]


class ForkServer:
    """The judge's client of :mod:`autograder.forkserver`."""

    def __init__(self, sock: socket.socket | None = None):
        """Start a server (``sock`` None), or adopt ``sock``, the socket of a clone already asked for."""
        self.popen: subprocess.Popen | None = None
        self.requests: socket.socket | None = None       # where clones of this server are asked for
        if sock is None:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            self.requests, clone_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            env = dict(base_environment(), MPLCONFIGDIR=matplotlib_folder())
            fds = [theirs.fileno(), clone_end.fileno()]
            self.popen = subprocess.Popen(
                engine_command("autograder.forkserver", *map(str, fds)),
                pass_fds=fds, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, env=env, cwd="/", start_new_session=True)
            theirs.close()
            clone_end.close()
            sock = ours
        self.sock = sock
        self.pid: int | None = None                      # the server's, once it said it is ready
        self.gone = False
        self.lock = threading.Lock()
        self.ended: dict[int, int] = {}
        self.peaks: dict[int, int] = {}          # pid -> largest resident set, KiB
        self.left: dict[int, list[int]] = {}     # pid -> what survived the server's killing of its leftovers
        self.replies: list[dict] = []
        self.cond = threading.Condition()
        self.reader: threading.Thread | None = None

    @classmethod
    def clone(cls, requests: socket.socket) -> "ForkServer":
        """Ask the server behind ``requests`` for a copy of itself, already warm, serving this process."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            socket.send_fds(requests, [b"{}"], [theirs.fileno()])
        finally:
            theirs.close()
        return cls(ours)

    def wait_ready(self) -> "ForkServer":
        """Wait for the server's warm-up to end (it started with the object)."""
        if self.reader is None:
            ready = self._read(timeout=120)
            if "ready" not in ready:
                raise OSError(f"fork server did not start: {ready}")
            self.pid = int(ready["ready"])
            self.reader = threading.Thread(target=self._listen, daemon=True)
            self.reader.start()
        return self

    def _read(self, timeout: float | None = None) -> dict:
        self.sock.settimeout(timeout)
        data = self.sock.recv(1 << 16)
        if not data:
            raise EOFError("fork server closed")
        return json.loads(data)

    def _listen(self):
        while True:
            try:
                message = self._read()
            except (OSError, EOFError, ValueError):
                with self.cond:
                    self.gone = True
                    self.replies.append({"error": "fork server ended"})
                    self.cond.notify_all()
                return
            with self.cond:
                if "ended" in message:
                    self.ended[int(message["ended"])] = int(message["status"])
                    self.peaks[int(message["ended"])] = int(message.get("maxrss_kib", 0))
                    self.left[int(message["ended"])] = [int(p) for p in message.get("left", [])]
                else:
                    self.replies.append(message)
                self.cond.notify_all()

    def alive(self) -> bool:
        return not self.gone and (self.popen is None or self.popen.poll() is None)

    def status(self, pid: int) -> int | None:
        with self.cond:
            status = self.ended.get(pid)
        return None if status is None else os.waitstatus_to_exitcode(status)

    def fork(self, header: dict, worker_fd: int, output_fd: int) -> Forked:
        with self.lock:
            socket.send_fds(self.sock, [json.dumps(header).encode()], [worker_fd, output_fd])
            with self.cond:
                if not self.cond.wait_for(lambda: self.replies, timeout=30):
                    raise OSError("fork server did not answer")
                reply = self.replies.pop(0)
        if "pid" not in reply:
            raise OSError(f"fork server: {reply}")
        return Forked(self, int(reply["pid"]))

    def close(self):
        try:
            try:    # shut down first: a close alone leaves the reader thread's recv holding the socket open
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()
            if self.requests is not None:
                self.requests.close()
        finally:
            if self.popen is not None:
                try:
                    self.popen.wait(5)
                except subprocess.TimeoutExpired:
                    self.popen.kill()


class Servers:
    """This process's fork server: which one it is, which process owns it, and whether it was refused.

    One object per process (:data:`SERVERS`): a judge process of a pool forked from this one finds the
    parent's server here and starts or adopts its own (``owner`` is the process that may use it).
    """

    def __init__(self):
        self.server: ForkServer | None = None
        self.owner: int | None = None       # the process whose server it is
        self.refused: int | None = None     # the process whose server could not start: no second try

    def mine(self) -> ForkServer | None:
        return self.server if self.server is not None and self.owner == os.getpid() else None

    def prestart(self) -> None:
        """Start the fork server now, while the judge is still importing torch and pytest: on two cores
        the two imports overlap, and a cold ``course grade one.ipynb`` pays torch's import about once
        instead of twice. Called from the thread that grades (the server dies with the thread that
        started it, by its parent-death signal)."""
        if os.environ.get("COURSE_NO_FORKSERVER") or self.refused == os.getpid() or self.mine() is not None:
            return
        try:
            self.server, self.owner = ForkServer(), os.getpid()
        except OSError:
            self.server = None

    def clone_requests(self) -> socket.socket | None:
        """Where judge processes of a pool ask this process's server for warm clones (None: no server).

        The pool's processes get it through :meth:`attach`, so the class pays the server's warm-up
        (torch, matplotlib: seconds of CPU) once, not once per judge process."""
        self.prestart()
        return self.mine().requests if self.mine() is not None else None

    def attach(self, requests: socket.socket | None) -> None:
        """A pool process's initializer: a clone of the parent's server, or a server of its own."""
        if requests is None:                # (with COURSE_NO_FORKSERVER the parent has none to give)
            self.prestart()
            return
        try:
            self.server, self.owner = ForkServer.clone(requests), os.getpid()
        except OSError:
            self.server = None
            self.prestart()

    def current(self) -> ForkServer | None:
        """This judge's fork server, ready, or None where it cannot run (then workers are plain processes)."""
        if os.environ.get("COURSE_NO_FORKSERVER") or self.refused == os.getpid():
            return None
        if self.mine() is None or not self.server.alive():
            self.server = None
            self.prestart()
        try:
            return self.server.wait_ready() if self.server is not None else None
        except (OSError, EOFError, ValueError):
            self.server, self.refused = None, os.getpid()
            return None

    def close(self) -> None:
        if self.mine() is not None:
            self.server.close()
        self.server = None


SERVERS = Servers()


# The process's server by plain functions: a pool pickles its initializer by name (attach), and a bound
# method would take the whole state object with it.
def prestart() -> None:
    SERVERS.prestart()


def clone_requests() -> socket.socket | None:
    return SERVERS.clone_requests()


def attach(requests: socket.socket | None) -> None:
    SERVERS.attach(requests)


def server() -> ForkServer | None:
    return SERVERS.current()


def start(limits: Limits, workdir: str, env: dict, hide=()) -> tuple[Process, socket.socket, object]:
    """A new worker: (process, the judge's socket to it, the read end of its output).

    ``hide``: paths the worker must not see (the sandbox covers them where the machine allows).
    """
    parent, child = socket.socketpair()
    read_fd, write_fd = os.pipe()
    sandbox = {"limits": limits.rlimits(), "hide": [str(p) for p in hide],
               "uid": "auto" if os.geteuid() == 0 else None, "memory_bytes": limits.memory_bytes,
               "folder": {"bytes": limits.folder_bytes, "files": limits.folder_files}}
    try:
        forker = server()
        if forker is not None:
            header = {"cwd": workdir, "env": env, "sandbox": sandbox}
            process: Process = forker.fork(header, child.fileno(), write_fd)
        else:
            popen = subprocess.Popen(
                engine_command("autograder.worker", str(child.fileno()), json.dumps(sandbox)),
                pass_fds=[child.fileno()], stdin=subprocess.DEVNULL, stdout=write_fd, stderr=write_fd,
                cwd=workdir, env=env, start_new_session=True)      # (the sandbox sets the rlimits)
            process = Popened(popen)
    finally:
        child.close()
        os.close(write_fd)
    return process, parent, os.fdopen(read_fd, "rb", buffering=0)
