"""Judge processes for a class: ``jobs`` of them, each grading one submission at a time.

Judges are forked from this process's judge server (:mod:`autograder.judgeserver`), which has imported
what a judge needs (:mod:`autograder.preload`) and run nothing: none pays torch's and pytest's imports
again, and none inherits the grading process's threads. The server and every judge are spoken to over
socket pairs this process made and handed down: no worker can reach them, even one that could make
sockets. The server is started once per grading process (at its first pool) and serves every pool.

Each judge gets a clone of the grading process's workers' fork server, already warm (see
:func:`autograder.spawn.attach`): the class pays that warm-up once, not once per judge.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from concurrent.futures import Future
from concurrent.futures import as_completed as completed

from autograder import judgeserver, spawn


class JudgeLost(RuntimeError):
    """A judge process ended while it held a call (killed, or crashed)."""


class Server:
    """The grading process's judge server: started at first use, again if it has gone."""

    def __init__(self):
        self.popen: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self.owner: int | None = None         # the process whose server it is
        self.ready = False
        self.lock = threading.Lock()

    def start(self) -> None:
        """Start the server now (its imports overlap whatever this process does next)."""
        with self.lock:
            if self.popen is not None and self.owner == os.getpid() and self.popen.poll() is None:
                return
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            try:
                self.popen = subprocess.Popen(
                    spawn.engine_command("autograder.judgeserver", str(theirs.fileno())), pass_fds=[theirs.fileno()],
                    stdin=subprocess.DEVNULL, cwd=os.getcwd(), start_new_session=True)
            finally:
                theirs.close()
            self.sock, self.owner, self.ready = ours, os.getpid(), False
            ours.send(json.dumps({"path": _path()}).encode())

    def fork(self, clones: socket.socket | None) -> "Judge":
        """A new judge, forked by the server, warm."""
        self.start()
        with self.lock:
            if not self.ready:
                self.sock.settimeout(300)
                reply = json.loads(self.sock.recv(judgeserver.MAX_REQUEST) or b'{"error": "it ended"}')
                self.sock.settimeout(None)
                if "ready" not in reply:
                    raise OSError(f"the judge server did not start: {reply.get('error')}")
                self.ready = True
            ours, theirs = socket.socketpair()
            fds = [theirs.fileno()] + ([clones.fileno()] if clones is not None else [])
            try:
                socket.send_fds(self.sock, [json.dumps({"cwd": os.getcwd(), "path": _path()}).encode()], fds)
            finally:
                theirs.close()
        return Judge(ours)

    def close(self) -> None:
        if self.popen is not None and self.owner == os.getpid():
            self.sock.close()
            try:
                self.popen.wait(5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.popen = self.sock = None


SERVER = Server()


def _path() -> list[str]:
    return [os.path.abspath(p) if p else os.getcwd() for p in sys.path]


class Judge:
    """One judge process, as the grading process sees it: a socket to send calls on."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.pid: int | None = None

    def call(self, function, args, kwargs):
        if self.pid is None:
            hello = judgeserver.receive(self.sock)
            self.pid = int(hello[1])
        judgeserver.send(self.sock, (function, args, kwargs))
        return judgeserver.outcome(judgeserver.receive(self.sock))

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class Judges:
    """``count`` judges sharing one queue of calls: :meth:`submit` gives a Future, as an executor does."""

    def __init__(self, count: int):
        SERVER.start()
        clones = spawn.clone_requests()
        self.judges = [SERVER.fork(clones) for _ in range(count)]
        self.queue: collections.deque = collections.deque()
        self.cond = threading.Condition()
        self.closing = False
        self.threads = [threading.Thread(target=self._serve, args=(judge,), daemon=True) for judge in self.judges]
        for thread in self.threads:
            thread.start()

    def submit(self, function, *args, **kwargs) -> Future:
        future: Future = Future()
        with self.cond:
            if self.closing:
                raise RuntimeError("the judges are shutting down")
            self.queue.append((future, function, args, kwargs))
            self.cond.notify()
        return future

    def map(self, function, items):
        futures = [self.submit(function, item) for item in items]
        return (future.result() for future in futures)

    def _serve(self, judge: Judge) -> None:
        """A thread of this process per judge: the next call in the queue, to that judge, until none is left."""
        while True:
            with self.cond:
                self.cond.wait_for(lambda: self.queue or self.closing)
                if not self.queue:
                    return
                future, function, args, kwargs = self.queue.popleft()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(judge.call(function, args, kwargs))
            except (EOFError, OSError) as exc:
                future.set_exception(JudgeLost(f"a judge process ended while grading ({exc or 'closed'})"))
                self._fail_the_rest_if_alone()
                return
            except BaseException as exc:
                future.set_exception(exc)

    def _fail_the_rest_if_alone(self) -> None:
        """A judge is gone: if no other can take the queue, what is in it fails rather than waiting forever."""
        if sum(thread.is_alive() for thread in self.threads) > 1:
            return
        with self.cond:
            while self.queue:
                future = self.queue.popleft()[0]
                if future.set_running_or_notify_cancel():
                    future.set_exception(JudgeLost("every judge process has ended"))

    def shutdown(self, wait: bool = True, cancel_futures: bool = False, interrupt: bool = False) -> None:
        """Start nothing new (``cancel_futures``: nor what is queued); with ``interrupt``, the calls running
        get a KeyboardInterrupt, and end as a grading ends (its worker and all it started gone)."""
        with self.cond:
            self.closing = True
            if cancel_futures:
                while self.queue:
                    self.queue.popleft()[0].cancel()
            self.cond.notify_all()
        if interrupt:                         # (judges are in the judge server's session: Ctrl-C reaches none)
            for judge in self.judges:
                if judge.pid is not None:
                    try:
                        os.kill(judge.pid, signal.SIGINT)
                    except ProcessLookupError:
                        pass
        if wait:
            for thread in self.threads:
                thread.join()
        for judge in self.judges:
            judge.close()

    def __enter__(self) -> "Judges":
        return self

    def __exit__(self, kind, value, tb) -> None:
        # leaving early (an exception, or a generator closed before the end): what has not started never does
        self.shutdown(wait=True, cancel_futures=kind is not None, interrupt=kind is KeyboardInterrupt)


def judges(count: int) -> Judges:
    return Judges(count)


def as_completed(fn, items: list, jobs: int, first=None, on_first=None):
    """Yield ``fn(item)`` for every item as each finishes, in ``jobs`` processes; inline for one job.

    ``first``: a call (no arguments) made before any result is yielded, its value given to
    ``on_first``; pooled, it runs in a judge while the others start on the items (a refusal it raises
    cancels them, and nothing is yielded). The grading probe uses it: the pool's start-up and the
    workers' server's warm-up overlap instead of following each other."""
    if jobs <= 1 or len(items) <= 1:
        if first is not None:
            value = first()
            if on_first is not None:
                on_first(value)
        for item in items:
            yield fn(item)
        return
    with judges(min(jobs, len(items))) as pool:
        probe = pool.submit(first) if first is not None else None
        futures = [pool.submit(fn, item) for item in items]
        if probe is not None:
            try:
                value = probe.result()
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
            if on_first is not None:
                on_first(value)
        for future in completed(futures):
            yield future.result()
