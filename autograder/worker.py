"""The worker: the untrusted process that runs one submission.

It runs the notebook's code cells in order, in one namespace, then answers the judge's requests
(look up a global, read an attribute, call something, reseed) until told to stop.  Everything it
sends back goes through :mod:`autograder.protocol`: plain data, or a numbered handle for anything
else.  This module must never import a grader; it is all the worker's process image contains of
the engine, besides the protocol.

Started as ``python -m autograder.worker FD``, where FD is the socket to the judge.  Student output
goes to the process's own stdout/stderr, which the judge captures separately.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import json
# bound now: student code may replace the builtins, and the worker must keep working
from builtins import compile, exec, getattr, isinstance, len, repr, str, type  # noqa: A004
import linecache
import os
import random
import signal
import socket
import sys
import time
import traceback
import warnings

import numpy as np

from autograder import fence, guard, protocol, remote

MAX_MESSAGE = 4000        # characters of an exception message sent back
MAX_TRACEBACK = 8000      # characters of a traceback sent back
MAX_CELL_OUTPUT = 20000   # characters of one cell's stdout (and of its stderr) kept for the executed notebook
MAX_FIGURES = 4           # figures of one cell kept as PNG
MAX_FIGURE_BYTES = 1 << 20


class Timeout(BaseException):
    """Raised in student code when its time is up.

    A BaseException, so that ``except Exception`` in student code does not swallow it.
    """


def _on_alarm(signum, frame):
    raise Timeout("time limit exceeded")


class Capture:
    """A stream that passes every write on and keeps the first ``MAX_CELL_OUTPUT`` characters.

    What a cell printed goes to the process's own output, as before (the judge's bounded tail), and
    its head goes back with the cell's result for the executed notebook that feedback shows.
    """

    def __init__(self, stream):
        self.stream = stream
        self.kept: list[str] = []
        self.room = MAX_CELL_OUTPUT
        self.dropped = 0

    def write(self, text):
        written = self.stream.write(text)
        if type(text) is str:
            head = text[:self.room]
            if head:
                self.kept.append(head)
                self.room -= len(head)
            self.dropped += len(text) - len(head)
        return written

    def flush(self):
        self.stream.flush()

    def __getattr__(self, name):          # isatty, fileno, encoding, … as the real stream has them
        return getattr(self.stream, name)

    def text(self) -> str:
        out = "".join(self.kept)
        if self.dropped:
            out += f"\n… [{self.dropped} 個字元已省略 / {self.dropped} characters cut]\n"
        return out


def _figures(limit: float) -> list[bytes]:
    """The cell's open matplotlib figures as PNG, then closed, as Jupyter's inline backend does."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return []

    def draw():
        images = []
        for number in list(plt.get_fignums())[:MAX_FIGURES]:
            buffer = io.BytesIO()
            plt.figure(number).savefig(buffer, format="png", dpi=72, bbox_inches="tight")
            if buffer.tell() <= MAX_FIGURE_BYTES:
                images.append(buffer.getvalue())
        plt.close("all")
        return images

    try:
        return _with_alarm(limit, draw)
    except BaseException:       # a figure that cannot be drawn is simply not shown
        _cancel_alarm()
        return []


class Shell:
    """Stands in for ``get_ipython()``: magics become no-ops or plain execution, shell escapes are off."""

    _PLAIN = {"time", "timeit", "capture", "prun"}   # magics whose body simply runs

    def __init__(self, namespace: dict):
        self.user_ns = namespace

    def system(self, cmd, *args, **kwargs):
        print(f"[grader] 已停用 shell 指令 / shell escape disabled: !{cmd}", file=sys.stderr)

    def getoutput(self, cmd, *args, **kwargs):
        self.system(cmd)
        return ""

    def run_line_magic(self, name, line, *args, **kwargs):
        if name in self._PLAIN and line.strip():
            exec(compile(line, "<magic>", "exec"), self.user_ns)
        return None

    def run_cell_magic(self, name, line, cell, *args, **kwargs):
        if name in self._PLAIN:
            exec(compile(cell, "<magic>", "exec"), self.user_ns)
        else:
            print(f"[grader] 已停用 %%{name} / cell magic disabled", file=sys.stderr)
        return None

    def __getattr__(self, name):
        # anything else a notebook may touch (events, kernel, display_pub, ...) does nothing
        return lambda *args, **kwargs: None


class Worker:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.handles: dict[int, object] = {}
        self.ids: dict[int, int] = {}          # id(obj) -> handle number, so one object has one handle
        self.namespace: dict = {"__name__": "__main__", "__builtins__": builtins}
        self.namespace["get_ipython"] = lambda: self.shell
        self.namespace["display"] = lambda *objs, **kwargs: None
        self.shell = Shell(self.namespace)
        self.builtins = dict(builtins.__dict__)     # as they were before any student code
        self.compiled: dict[tuple, object] = {}     # (name, source) of the judge's instrumentation -> its code
        self.stubs: dict[int, object] = {}          # number -> the stand-in of a judge's reference (remote)
        self.calls = 0                              # callbacks made to the judge

    def restore_builtins(self) -> None:
        """Undo what student code did to the builtins (isinstance = lambda *a: True, ...).

        The worker's own code, json included, looks builtins up at call time; a notebook that
        rebinds them would otherwise break the worker's replies and cost the student honest points.
        """
        current = builtins.__dict__
        for name, value in self.builtins.items():
            if current.get(name) is not value:
                current[name] = value

    # ------------------------------------------------------------------ plumbing
    def send(self, header: dict, buffers=()) -> None:
        protocol.write_frame(self.sock, header, list(buffers))

    def handle_of(self, obj) -> protocol.HandleRef:
        key = id(obj)
        number = self.ids.get(key)
        if number is None or self.handles.get(number) is not obj:
            number = len(self.handles) + 1
            self.handles[number] = obj
            self.ids[key] = number
        kind = type(obj).__name__ if isinstance(type(obj).__name__, str) else "object"
        return protocol.HandleRef(number, kind)

    def resolve(self, ref: protocol.HandleRef):
        if ref.id not in self.handles:
            raise LookupError(f"no object behind handle {ref.id}")
        return self.handles[ref.id]

    def reply_value(self, value) -> None:
        buffers: list[bytes] = []
        tree = protocol.encode(value, buffers, self.handle_of)
        self.send({"ok": True, "value": tree}, buffers)

    def reply_error(self, exc: BaseException) -> None:
        self.send({"ok": False, "error": describe(exc)})

    # ------------------------------------------------------------------ requests
    def serve(self) -> None:
        while True:
            try:
                header, buffers = protocol.read_frame(self.sock)
            except EOFError:
                return
            if not self.serve_one(header, buffers):
                return

    def serve_one(self, header: dict, buffers: list) -> bool:
        """Answer one request of the judge's (also while a stand-in waits for the judge: a reference may
        call the worker's objects). False when told to stop."""
        op = header.get("op")
        if op == "bye":
            return False
        if op == "run":
            self.run(header)
            return True
        limit = float(header.get("timeout", 0) or 0)
        try:
            value = self.answer(op, header, buffers, limit)
        except BaseException as exc:  # the student's exceptions, SystemExit included, become replies
            self.restore_builtins()
            try:
                self.reply_error(exc)
            except protocol.ProtocolError as inner:
                self.reply_error(inner)
            return True
        self.restore_builtins()
        if header.get("keep") is True:
            value = self.handle_of(value)      # the judge asked for a handle, even to plain data
        try:
            self.reply_value(value)
        except (protocol.ProtocolError, RecursionError) as exc:
            self.reply_error(exc)
        except BaseException as exc:  # a student's object that breaks while being encoded
            self.reply_error(exc)
        return True

    def answer(self, op, header, buffers, limit):
        decode = lambda tree: protocol.decode(tree, buffers, self.resolve)  # noqa: E731
        if op == "seed":
            seed_everything(int(header["seed"]))
            return None
        if op == "global":
            name = header["name"]
            if name not in self.namespace:
                raise NameError(f"name '{name}' is not defined")
            return self.namespace[name]
        if op == "define":                 # the judge's instrumentation, made in the worker (never an answer)
            name = str(header["name"])
            return _with_alarm(limit, lambda: self.defined({name: header["source"]})[name])
        if op == "stub":                   # the stand-in of a reference of the judge's
            return self.stub(int(header["id"]), str(header["name"]), header.get("by_handle") is True)
        if op == "remote_module":
            number = int(header["id"])
            self.stubs[number] = remote.remote_module(self, number, decode(header["spec"]))
            return self.stubs[number]
        target = self.resolve(protocol.HandleRef(int(header["target"]), ""))
        if op == "getattr":
            return _with_alarm(limit, getattr, target, header["name"])
        if op == "getitem":
            return _with_alarm(limit, lambda: target[decode(header["key"])])
        if op == "setitem":
            def store():
                target[decode(header["key"])] = decode(header["value"])
            return _with_alarm(limit, store)
        if op == "call":
            args = decode(header["args"])
            kwargs = decode(header["kwargs"])
            fenced = fence.autograd_off() if header.get("autograd") is False else contextlib.nullcontext()
            with self.overridden(header.get("override") or {}), fenced:
                if header.get("guard") is not True:
                    return _with_alarm(limit, target, *args, **kwargs)
                # what the call may change (the model handed to train) is named by the judge, by handle
                exempt = [self.resolve(protocol.HandleRef(int(i), "")) for i in header.get("exempt", [])]
                return _with_alarm(limit, guard.call, target, args, kwargs, exempt)
        if op == "describe":
            return _with_alarm(limit, lambda: _describe_object(target))
        raise ValueError(f"unknown op {op!r}")

    # ------------------------------------------------------------------ the judge's references, by callback
    def stub(self, number: int, name: str, by_handle: bool = False) -> remote.Stub:
        if number not in self.stubs:
            self.stubs[number] = remote.Stub(self, number, name, by_handle)
        return self.stubs[number]

    def remote_call(self, number: int, method: str, args, kwargs, by_handle: bool = False, state=None,
                    training=None):
        """A stand-in called by student code: the judge computes, the worker waits (serving the judge's
        requests meanwhile); where autograd records the call, the judge's backward pass is attached."""
        inputs = [state if state is not None else {}, list(args), dict(kwargs)]
        device = remote.device_of(inputs)
        tensors = [] if by_handle else protocol.tensors_in(inputs)
        grad = remote.torch_grad_wanted(tensors)
        self.calls += 1
        call = self.calls
        buffers: list[bytes] = []
        tree = protocol.encode(inputs, buffers, self.handle_of, by_handle=by_handle)
        self.send({"event": "callback", "stub": number, "call": call, "method": method, "inputs": tree,
                   "grad": grad, "training": training}, buffers)
        value = remote.moved(self.answer_of(call), device)
        outputs = protocol.tensors_in(value) if grad else []
        if not outputs:
            return value
        return remote.replaced(value, remote.attach(self, call, tensors, outputs))[0]

    def backward(self, call: int, grads: list):
        """The gradients of callback ``call``'s inputs, from the judge, given those of its outputs."""
        buffers: list[bytes] = []
        self.send({"event": "backward", "call": call, "grads": protocol.encode(grads, buffers)}, buffers)
        return self.answer_of(call)

    def answer_of(self, call: int):
        """Wait for the judge's answer to callback ``call``, serving its requests until it comes."""
        while True:
            try:
                header, buffers = protocol.read_frame(self.sock)
            except EOFError:
                _flush()
                os._exit(0)                   # the judge has gone: so does this worker
            op = header.get("op")
            if op in ("return", "raise") and header.get("call") == call:
                if op == "raise":
                    raise remote.exception(protocol.failure(header.get("error")))
                return protocol.decode(header.get("value"), buffers, self.resolve)
            if not self.serve_one(header, buffers):
                _flush()
                os._exit(0)

    def defined(self, sources: dict) -> dict:
        """The judge's instrumentation (name → source defining that name: a recorder, a loop of calls; never
        the answer to a blank, see :mod:`autograder.remote`) run in a copy of the notebook's globals, which it
        sees (the notebook's imports) and leaves as they were."""
        scope = dict(self.namespace)
        for name, source in sources.items():
            key = (name, str(source))
            if key not in self.compiled:          # the same few references, for every call of a grader
                self.compiled[key] = compile(key[1], f"<instrumentation {name}>", "exec")
            exec(self.compiled[key], scope)
        return scope

    @contextlib.contextmanager
    def overridden(self, stubs: dict):
        """The notebook's globals ``stubs`` names (name → [a stand-in's number, by handle]), replaced for one call by the
        stand-ins of the judge's references.

        Where blank B calls blank A (lstm_forward calls lstm_cell), B is graded with the reference A in
        A's place, so that a wrong A costs A's points only; the reference runs in the judge
        (:mod:`autograder.remote`). The originals are put back afterwards.
        """
        if not stubs:
            yield
            return
        saved = {name: self.namespace.get(name, _MISSING) for name in stubs}
        self.namespace.update({name: self.stub(int(number), str(name), by_handle is True)
                               for name, (number, by_handle) in stubs.items()})
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is _MISSING:
                    self.namespace.pop(name, None)
                else:
                    self.namespace[name] = value

    # ------------------------------------------------------------------ the notebook
    def run(self, header: dict) -> None:
        cells = header["cells"]
        skip = set(header.get("skip", []))
        limit = float(header.get("cell_timeout", 0) or 0)
        figures = bool(header.get("figures"))
        seed_everything(int(header.get("seed", 0)))
        for index, source in enumerate(cells):
            if index in skip:
                continue
            self.send({"event": "cell", "index": index, "status": "start"})
            error = None
            streams = sys.stdout, sys.stderr
            captured = sys.stdout, sys.stderr = Capture(streams[0]), Capture(streams[1])
            try:
                filename = f"<cell {index}>"
                linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
                code = compile(source, filename, "exec")
                _with_alarm(limit, exec, code, self.namespace)
            except BaseException as exc:  # the cell failed; record it and go on, as a notebook would
                _cancel_alarm()
                self.restore_builtins()
                error = describe(exc)
            self.restore_builtins()
            _flush()
            # a cell that set its own sys.stdout keeps it, as in Jupyter; ours is taken away
            if sys.stdout is captured[0]:
                sys.stdout = streams[0]
            if sys.stderr is captured[1]:
                sys.stderr = streams[1]
            images = _figures(limit) if figures else []
            self.send({"event": "cell", "index": index, "status": "error" if error else "ok", "error": error,
                       "stdout": captured[0].text(), "stderr": captured[1].text(), "figures": len(images)},
                      images)
        self.send({"event": "ready", "token": header.get("token")})


_MISSING = object()


def _with_alarm(limit: float, fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, stopped by :class:`Timeout` after ``limit`` seconds (0: no limit of its own).

    Alarms nest: a request served while a stand-in waits for the judge runs inside the request that called
    the stand-in; it gets at most what is left of the outer alarm, which is set again, less the time spent,
    when it ends."""
    outer = signal.getitimer(signal.ITIMER_REAL)[0]        # seconds left of an enclosing alarm, 0.0 if none
    started = _monotonic()
    if limit > 0 or outer:
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, min(limit, outer) if limit > 0 and outer else limit or outer)
    try:
        return fn(*args, **kwargs)
    finally:
        if outer:
            signal.setitimer(signal.ITIMER_REAL, max(outer - (_monotonic() - started), 1e-3))
        else:
            signal.setitimer(signal.ITIMER_REAL, 0)


_monotonic = time.monotonic


def _cancel_alarm():
    signal.setitimer(signal.ITIMER_REAL, 0)


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def _describe_object(obj) -> dict:
    """What a grader may learn about an object without trusting it: its type's name and a repr."""
    text = repr(obj)
    return {"type": type(obj).__name__, "repr": text[:500] if isinstance(text, str) else "?"}


def describe(exc: BaseException) -> dict:
    """An exception as plain strings: type, message and the student's part of the traceback."""
    try:
        message = str(exc)
    except BaseException:
        message = "<unprintable message>"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith("<cell")]
    lines = traceback.format_list(frames)
    text = "".join(lines)
    return {
        "type": type(exc).__name__,
        "message": message[:MAX_MESSAGE],
        "traceback": text[-MAX_TRACEBACK:],
        "timeout": isinstance(exc, Timeout),
    }


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)
        full_precision(torch)


def full_precision(torch) -> None:
    """No TF32 on tensor cores: a grade must not depend on the GPU (TF32 moves an RNN's output by ~2e-4)."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def prepare() -> None:
    """Settle the process before any student code: quiet warnings, one thread, a headless plot backend."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    warnings.simplefilter("ignore")
    try:
        import torch

        torch.set_num_threads(1)
        full_precision(torch)
        protocol.bind_torch()
    except ImportError:  # pragma: no cover - torch is part of the pinned environment
        pass


def main(argv=None, config: dict | None = None) -> None:
    """``argv``: the socket's fd and, for a plain worker, the sandbox configuration as JSON."""
    argv = sys.argv[1:] if argv is None else argv
    sock = socket.socket(fileno=int(argv[0]))
    if config is None:
        config = json.loads(argv[1]) if len(argv) > 1 else {}
    from autograder import sandbox

    isolation = sandbox.enter(config)
    prepare()
    # the first frame, sent before any student code exists in this process: what protects it
    protocol.write_frame(sock, {"event": "sandbox", "isolation": isolation})
    Worker(sock).serve()
    _flush()
    os._exit(0)


if __name__ == "__main__":
    main()
