"""A pre-warmed parent for judges: it has imported what a judge needs once, and forks a judge per request.

Started by the grading process as ``python -s -c BOOT ENGINE autograder.judgeserver FD`` (a fresh
interpreter), with one end of a socket pair inherited as FD and nothing else: no file, no path, no port
that another process could find. (multiprocessing's "forkserver", which this replaces, listens on a
Unix socket under /tmp that any process able to make a socket may connect to, and unpickles what it is
sent: as root without CAP_SYS_ADMIN, an escape to uid 0 with capabilities.) It is not dumpable (see
:mod:`autograder.proctitle`), so no process of the same uid reads its memory or environment.

Its first message (JSON) gives it the grading process's ``sys.path``; it imports
:mod:`autograder.preload` (torch, pytest, nbformat, the graders' shared modules: seconds of CPU, once)
and says ``ready``. Each later message carries a descriptor, the judge's end of a stream socket pair
(and, where the grading process has one, the socket where judges ask its workers' fork server for warm
clones: :func:`autograder.spawn.attach`), and the grading process's working folder and ``sys.path`` at
that moment. The server forks; the child is a judge that runs the calls it is sent on that socket, one
at a time (pickled ``(function, args)``, answered with the pickled value or exception), until the
socket closes. Only the grading process holds the other end of either socket: nothing it receives
comes from anyone else.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import socket
import struct
import sys
import traceback

MAX_REQUEST = 1 << 20


# ------------------------------------------------------------------ the wire between grading process and judge

def send(sock: socket.socket, value) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(struct.pack(">Q", len(data)) + data)


def receive(sock: socket.socket):
    """The next pickled value on ``sock``; EOFError when it closed."""
    return pickle.loads(receive_bytes(sock))


def receive_bytes(sock: socket.socket) -> bytes:
    head = _exactly(sock, 8)
    return _exactly(sock, struct.unpack(">Q", head)[0])


def _exactly(sock: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise EOFError("closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a judge (the cause of the exception re-raised here)."""

    def __str__(self) -> str:
        return self.args[0] if self.args else ""


def _answer(value=None, error: BaseException | None = None) -> tuple:
    if error is None:
        return ("ok", value)
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    try:
        pickle.dumps(error)
        return ("error", error, text)
    except Exception:           # an exception that cannot travel: its words do
        return ("error", RuntimeError(f"{type(error).__name__}: {error}"), text)


def outcome(answer: tuple):
    """The value of a judge's answer, or the exception it raised (with the judge's traceback as cause)."""
    if answer[0] == "ok":
        return answer[1]
    error = answer[1]
    error.__cause__ = RemoteTraceback(f"\n\"\"\"\n{answer[2]}\"\"\"")
    raise error


# ------------------------------------------------------------------ in the server

def judge(channel: socket.socket, clones: socket.socket | None) -> None:
    """In a forked child: be a judge, serving ``channel`` until it closes. Never returns."""
    code = 0
    try:
        from autograder import spawn

        spawn.attach(clones)             # a warm clone of the grading process's workers' fork server
        if clones is not None:
            clones.close()
        send(channel, ("hello", os.getpid()))
        while True:
            try:
                data = receive_bytes(channel)
            except EOFError:
                break
            try:
                function, args, kwargs = pickle.loads(data)   # (a function of __main__ is not importable here)
                answer = _answer(function(*args, **kwargs))
            except BaseException as exc:      # (KeyboardInterrupt and SystemExit of a call are answers too)
                answer = _answer(error=exc)
            try:
                send(channel, answer)
            except Exception as exc:          # a value that cannot be pickled
                send(channel, _answer(error=RuntimeError(f"the judge's answer could not be sent: {exc}")))
        spawn.SERVERS.close()
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)


def serve(control: socket.socket) -> None:
    """Fork a judge for each request on ``control``, until it closes."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)          # judges are reaped by the kernel
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(control, MAX_REQUEST, 2)
        except OSError:
            return
        if not data:                                       # the grading process has gone: so do we
            return
        request = json.loads(data)
        if not fds:
            continue
        pid = os.fork()
        if pid == 0:
            control.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            from autograder import sandbox

            sandbox.die_with_parent()
            os.chdir(request.get("cwd") or "/")
            use_path(request.get("path"))
            channel = socket.socket(fileno=fds[0])
            clones = socket.socket(fileno=fds[1]) if len(fds) > 1 else None
            judge(channel, clones)
        for fd in fds:
            os.close(fd)


def use_path(path) -> None:
    """The grading process's ``sys.path``, this engine first (as ``spawn.BOOT`` put it)."""
    from autograder import ENGINE

    if path:
        sys.path[:] = [ENGINE] + [p for p in path if p != ENGINE]


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    control = socket.socket(fileno=int(argv[0]))
    from autograder import proctitle, sandbox

    sandbox.die_with_parent()
    proctitle.private()
    config = json.loads(control.recv(MAX_REQUEST) or b"{}")
    use_path(config.get("path"))
    try:
        import autograder.preload  # noqa: F401
    except BaseException as exc:      # judges would fail the same way: say why, and serve none
        control.send(json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode())
        os._exit(1)
    control.send(json.dumps({"ready": os.getpid()}).encode())
    serve(control)
    os._exit(0)


if __name__ == "__main__":
    main()
