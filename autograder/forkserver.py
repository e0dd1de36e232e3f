"""A pre-warmed parent for workers: it has paid for ``import torch`` once, and forks a worker per submission.

It is started by the judge as ``python -s -m autograder.forkserver FD [CLONE_FD]`` (a fresh interpreter, so its
image holds no grader) and imports only what a notebook of this course needs: numpy, IPython.display, torch (with
Adam's lazy imports done, and ``torch._dynamo`` deferred to its first real use: see
:mod:`autograder.dynamo`), matplotlib with the Agg backend.  CUDA is never touched here: a child
initialises it itself if the notebook asks for it.

The control socket is a SOCK_SEQPACKET pair, so every message is one JSON datagram.  Each request carries two file descriptors (the worker's end of its own
socket, and the write end of its output pipe) and a JSON header (working directory, environment,
limits).  The server forks; the child becomes the worker exactly as ``python -m autograder.worker``
would; the server answers with the child's pid.  When a child ends, the server reports its wait
status, so the judge can say "killed by SIGSEGV" without being its parent.

On the second socket (CLONE_FD), each message carries one descriptor: the server forks a *clone* of
itself, already warm, that serves that socket as this one serves the first.  The grading process
hands this socket to its pool of judges (and to nothing else), so a class pays the warm-up once.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys

from autograder import reaper, sandbox

MAX_REQUEST = 1 << 20


def warm() -> None:
    """Import and exercise what every submission would otherwise pay for."""
    import numpy  # noqa: F401

    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is part of the pinned environment
        torch = None
    if torch is not None:
        torch.set_num_threads(1)
        from autograder import dynamo

        dynamo.defer()           # the optimizers' step() would import the compiler: 2.3 s, for nothing
        with cuda_hidden(torch):
            try:
                # no backward(): the autograd engine's first run asks the CUDA driver for its devices
                # (in C++, out of reach of cuda_hidden) and starts threads; a child pays that itself
                weight = torch.nn.Parameter(torch.zeros(2))
                weight.grad = torch.ones(2)
                optimizer = torch.optim.Adam([weight], lr=0.1)
                optimizer.step()
                with torch.no_grad():
                    torch.nn.functional.cross_entropy(weight.unsqueeze(0), torch.tensor([0]))
                    torch.nn.RNN(2, 2, batch_first=True)(torch.zeros(1, 1, 2))
            except Exception:   # the warm-up is an optimisation, never a reason not to serve
                pass
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot  # noqa: F401
    except ImportError:  # pragma: no cover
        pass
    try:
        import IPython.display  # noqa: F401  (display, clear_output in training loops: 0.14 s)
    except ImportError:  # pragma: no cover
        pass
    import autograder.worker  # noqa: F401
    from autograder import seccomp

    seccomp.available()          # pyseccomp finds libseccomp through ldconfig: once, not once per worker


class cuda_hidden:
    """While warming up, CUDA does not exist: nothing may call into the CUDA driver before a fork.

    (Optimizer.step() alone asks torch.cuda.is_available() and then whether a CUDA graph is being
    captured, which initialises the driver; a forked child then fails with "CUDA error:
    initialization error".)  Each entry point is replaced for the duration and restored after.
    """

    def __init__(self, torch):
        self.torch = torch
        self.saved = []

    def _replace(self, owner, name, value):
        if hasattr(owner, name):
            self.saved.append((owner, name, getattr(owner, name)))
            setattr(owner, name, value)

    def __enter__(self):
        def refuse(*args, **kwargs):
            raise RuntimeError("CUDA is not available while the fork server warms up")

        cuda = self.torch.cuda
        self._replace(cuda, "is_available", lambda: False)
        self._replace(cuda, "device_count", lambda: 0)
        self._replace(cuda, "_lazy_init", refuse)
        self._replace(cuda, "is_current_stream_capturing", lambda: False)
        self._replace(self.torch._C, "_cuda_getDeviceCount", lambda: 0)
        return self

    def __exit__(self, *exc):
        for owner, name, value in reversed(self.saved):
            setattr(owner, name, value)
        return False


def probe_fork() -> str | None:
    """Fork a child and have it use CUDA (if the machine has any): None if that works, else why not."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            import torch

            if torch.cuda.is_available():
                (torch.zeros(1, device="cuda") + 1).cpu()
        except BaseException:
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return None if os.waitstatus_to_exitcode(status) == 0 else "a forked child cannot use CUDA"


def _send(sock: socket.socket, message: dict) -> None:
    sock.send(json.dumps(message).encode())


def _child(header: dict, worker_fd: int, output_fd: int, control: socket.socket) -> None:
    """In the forked child: become the worker. Never returns."""
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        control.close()
        sandbox.dumpable(True)                       # (its server is not: a fresh process would be)
        os.setsid()                                  # its own process group: killed as a whole
        sandbox.die_with_parent()
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        os.close(output_fd)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.chdir(header["cwd"])
        os.environ.clear()
        os.environ.update(header["env"])
        sandbox.close_fds(keep=worker_fd)            # nothing of the server's reaches the worker
        sys.stdout = os.fdopen(1, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)
        sys.stderr = os.fdopen(2, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)
        from autograder import worker

        worker.main([str(worker_fd)], config=dict(header.get("sandbox", {}), reaped=REAPER))
    finally:
        os._exit(70)


def serve(control: socket.socket, requests: socket.socket | None = None) -> None:
    """Fork a worker for each request on ``control``; on ``requests``, fork a copy of this server.

    A copy (a *clone*) serves the socket that came with its request exactly as this server serves
    ``control``: a pool of judge processes shares one warm-up, each with a server of its own.
    """
    children: set[int] = set()
    clones: set[int] = set()
    # a child's end wakes the loop at once: SIGCHLD writes a byte to this pipe
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    listening = [control, wake_read] + ([requests] if requests is not None else [])
    while True:
        readable, _, _ = select.select(listening, [], [], 1.0)
        if wake_read in readable:
            os.read(wake_read, 4096)
            readable.remove(wake_read)
        for pid, status, usage in _reap():
            if pid in children:
                children.discard(pid)
                # what it left behind (orphans come here: the server is their subreaper), all killed
                # before the judge hears of its end; what could not be is named
                left = reaper.kill_descendants(children | clones) if REAPER else []
                # ru_maxrss: the largest resident set of the worker and the processes it waited for (KiB)
                _send(control, {"ended": pid, "status": status, "maxrss_kib": usage.ru_maxrss, "left": left})
            clones.discard(pid)
        if requests is not None and requests in readable:
            readable.remove(requests)
            pid = _clone(requests, (control, requests), (wake_read, wake_write))
            if pid:
                clones.add(pid)
        if control not in readable:
            continue
        try:
            data, fds, _, _ = socket.recv_fds(control, MAX_REQUEST, 2)
        except OSError:
            data, fds = b"", []
        if not data:                                 # the judge has gone: so do we, and all we started
            if REAPER:
                reaper.kill_descendants(clones, patience=5.0)
            return
        header = json.loads(data)
        if len(fds) != 2:
            for fd in fds:
                os.close(fd)
            _send(control, {"error": "expected two file descriptors"})
            continue
        worker_fd, output_fd = fds
        pid = os.fork()
        if pid == 0:
            _child(header, worker_fd, output_fd, control)
        os.close(worker_fd)
        os.close(output_fd)
        children.add(pid)
        _send(control, {"pid": pid, "token": header.get("token")})


def _reap():
    """Every child that has ended, as (pid, wait status, resource usage): workers, clones, and the
    processes that workers left behind, which this server adopts as their subreaper."""
    while True:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if not pid:
            return
        yield pid, status, usage


REAPER = False                   # whether this server is its workers' subreaper


def _clone(requests: socket.socket, ours: tuple, pipe: tuple) -> int | None:
    """Receive one clone request (its socket) and fork a server for it; the clone's pid, or None."""
    try:
        data, fds, _, _ = socket.recv_fds(requests, MAX_REQUEST, 1)
    except OSError:
        return None
    if len(fds) != 1:
        for fd in fds:
            os.close(fd)
        return None
    pid = os.fork()
    if pid == 0:
        try:
            signal.set_wakeup_fd(-1)
            for sock in ours:
                sock.close()
            for fd in pipe:
                os.close(fd)
            sandbox.die_with_parent()                # (not inherited across fork)
            global REAPER
            REAPER = sandbox.become_subreaper()
            control = socket.socket(fileno=fds[0])
            _send(control, {"ready": os.getpid()})
            serve(control)
        finally:
            os._exit(0)
    os.close(fds[0])
    return pid


def cuda_initialised() -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and torch.cuda.is_initialized()


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    control = socket.socket(fileno=int(argv[0]))
    requests = socket.socket(fileno=int(argv[1])) if len(argv) > 1 else None
    sandbox.die_with_parent()
    sandbox.dumpable(False)      # no process of the same uid reads its memory, environment or maps
    global REAPER
    REAPER = sandbox.become_subreaper()
    warm()
    problem = "CUDA was initialised during the warm-up" if cuda_initialised() else probe_fork()
    if problem:                  # children could not use CUDA: the judge starts plain workers instead
        _send(control, {"error": problem})
        os._exit(1)
    _send(control, {"ready": os.getpid()})
    serve(control, requests)
    os._exit(0)


if __name__ == "__main__":
    main()
