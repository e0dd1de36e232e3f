"""The judge's side of a submission: its notebook run in a worker, and proxies for the worker's objects.

A :class:`Submission` starts a worker, has it run the notebook's cells, and then forwards the
graders' requests to it.  If the worker dies while running a cell (``os._exit``, a segfault, a
timeout that the student's code blocked), a new worker runs the notebook again without that cell,
so that one bad cell costs what it costs and no more.  If it dies during a grader's request, that
request fails and the next one gets a fresh worker.

Graders see :class:`Handle` objects for anything that is not plain data; calling a handle, or
reading one of its attributes, is a request to the worker.
"""

from __future__ import annotations

import contextlib
import math
import secrets
import tempfile
import time
from dataclasses import dataclass, field

from autograder import callbacks, protocol
from autograder.isolation import Policy
from autograder.limits import Limits
from autograder.worker_process import GRACE, WorkerLost, WorkerProcess

class StudentError(Exception):
    """The student's code raised an exception while the worker served a request."""

    def __init__(self, failure: protocol.Failure):
        self.type, self.message, self.traceback, self.timeout = \
            failure.type, failure.message, failure.traceback, failure.timeout
        super().__init__(f"{self.type}: {self.message}")

    @property
    def not_implemented(self) -> bool:
        return self.type == "NotImplementedError"


@dataclass
class CellRun:
    """What happened to one code cell of the submission."""

    index: int
    status: str                     # "ok", "error", "skipped" (killed the worker), "timeout"
    error: dict | None = None
    stdout: str = ""                # the head of what it printed (the worker keeps at most 20000 characters)
    stderr: str = ""
    figures: list[bytes] = field(default_factory=list)   # PNG images of its matplotlib figures


@dataclass
class Submission:
    """A notebook's code cells, run in a worker, and the graders' way to reach what they defined."""

    cells: list[str]
    limits: Limits = field(default_factory=Limits)
    seed: int = 0
    runs: list[CellRun] = field(default_factory=list)
    restarts: int = 0
    generation: int = 0
    call_timeout: float | None = None
    may_change: tuple = ()           # handles a call may change (see ``changing``)
    overrides: dict = field(default_factory=dict)   # name → [number, by handle] of a reference in its place
    autograd: bool = True            # False: calls run with autograd fenced off (see ``without_autograd``)
    hide: tuple = ()                 # paths the worker must not see
    figures: bool = False            # keep each cell's matplotlib figures (for feedback pages)
    policy: Policy = field(default_factory=Policy)
    isolation: list = field(default_factory=list)
    isolated: bool = False           # whether its workers' measures gave every property isolation needs
    peak_kib: int = 0                # the largest resident set of its workers
    _worker: WorkerProcess | None = None
    _workdir: tempfile.TemporaryDirectory | None = None
    _skipped: dict = field(default_factory=dict)   # cell index -> why it killed the worker
    _outputs: list[str] = field(default_factory=list)
    _names: dict = field(default_factory=dict)     # this worker's: name or (module id, attribute) -> value
    _references: dict = field(default_factory=dict)  # number -> the judge's reference a stand-in calls back
    _numbers: int = 0                                # references registered so far
    _graphs: dict = field(default_factory=dict)      # callback number -> its forward pass (callbacks.Graph)

    # ------------------------------------------------------------------ life cycle
    def start(self) -> None:
        """Run the notebook; a cell that kills the worker is skipped on the next try."""
        if self._workdir is None:
            self._workdir = tempfile.TemporaryDirectory(prefix="course-worker-")
        while True:
            try:
                self._run_notebook()
                return
            except WorkerLost:
                if self.restarts >= self.limits.restarts:
                    raise
                self.restarts += 1

    def _spawn(self) -> WorkerProcess:
        self.generation += 1
        self._names.clear()
        worker = WorkerProcess(self.limits, self._workdir.name, self.hide, self.policy)
        self.isolation, self.isolated = worker.isolation, worker.isolated
        return worker

    def _run_notebook(self) -> None:
        self._retire()
        worker = self._worker = self._spawn()
        runs = {i: CellRun(i, "skipped", {"type": "WorkerLost", "message": reason, "traceback": "",
                                          "timeout": "timeout" in reason})
                for i, reason in self._skipped.items()}
        token = secrets.token_hex(16)      # a forged "ready" from a cell cannot know it
        worker.send({"op": "run", "cells": self.cells, "skip": sorted(self._skipped),
                     "cell_timeout": self.limits.cell_seconds, "seed": self.seed, "token": token,
                     "figures": self.figures})
        deadline = time.monotonic() + self.limits.notebook_seconds
        current, cell_deadline = None, math.inf
        kept = Kept()
        while True:
            try:
                # the worker's alarm stops a cell at cell_seconds; one that ignores it is killed a little
                # later, not at the end of the notebook's time
                header, buffers = worker.receive(min(deadline, cell_deadline))
                try:
                    event = protocol.notebook_event(header, buffers, len(self.cells))
                    if isinstance(event, protocol.Ready) and event.token != token:
                        raise protocol.ProtocolError("a ready message with the wrong token")
                except protocol.ProtocolError as exc:
                    worker.kill()
                    raise WorkerLost("protocol", str(exc)) from None
            except WorkerLost as lost:
                if current is None:
                    raise
                # the cell that was running took the worker with it (or lied for it): skip it next time
                self._skipped[current] = str(lost)
                self.runs = sorted(runs.values(), key=lambda r: r.index)
                raise
            if isinstance(event, protocol.Ready):
                break
            if isinstance(event, protocol.CellStarted):
                # (its figures, when kept, are drawn afterwards under an alarm of their own)
                cell_time = self.limits.cell_seconds * (2 if self.figures else 1)
                current = event.index
                cell_deadline = time.monotonic() + cell_time + GRACE if cell_time > 0 else math.inf
                continue
            error = None if event.error is None else _error_dict(event.error)
            status = "ok" if error is None else "timeout" if error["timeout"] else "error"
            runs[event.index] = CellRun(event.index, status, error, kept.text(event.stdout), kept.text(event.stderr),
                                        kept.figures(event.figures))
            current, cell_deadline = None, math.inf
        self.runs = sorted(runs.values(), key=lambda r: r.index)

    def _retire(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self.peak_kib = max(self.peak_kib, self._worker.proc.peak_kib() or 0)
            self._outputs.append(self._worker.output.text(wait=1.0))
            self._worker = None

    def ensure(self) -> WorkerProcess:
        """A live worker with the notebook run; a new one if the last died."""
        if self._worker is None or not self._worker.alive():
            if self.restarts >= self.limits.restarts:
                raise WorkerLost("died", "too many restarts")
            self.restarts += 1
            self.start()
        return self._worker

    def close(self) -> None:
        self._retire()
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def output(self) -> str:
        texts = list(self._outputs)
        if self._worker is not None:
            texts.append(self._worker.output.text())
        return "\n".join(t for t in texts if t)

    # ------------------------------------------------------------------ requests
    def request(self, header: dict, buffers=(), timeout: float | None = None):
        """Send a request and wait for its value. While it waits, the worker may call the judge's references
        (stand-ins, :mod:`autograder.remote`): each callback is answered here, and may itself make requests."""
        worker = self.ensure()
        limit = timeout or self.call_timeout or self.limits.call_seconds
        worker.send(dict(header, timeout=limit), buffers)
        # the worker's own alarm fires at `limit`; the judge waits a little longer, then kills
        deadline = time.monotonic() + limit + GRACE
        generation = self.generation
        while True:
            raw, raw_buffers = worker.receive(deadline)
            try:
                message = protocol.reply(raw, raw_buffers)
                if isinstance(message, protocol.Reply):
                    return protocol.decode(message.value, message.buffers, lambda ref: Handle(self, ref, generation))
            except protocol.ProtocolError as exc:
                worker.kill()
                raise WorkerLost("protocol", str(exc)) from None
            if isinstance(message, protocol.Failure):
                raise StudentError(message)
            self._answer(worker, message)

    def _answer(self, worker: WorkerProcess, message) -> None:
        """Answer a callback (or a backward pass) of a stand-in, computing with the judge's reference."""
        generation = self.generation
        try:
            if isinstance(message, protocol.Backward):
                value = self._backward(message)
            else:
                reference = self._references.get(message.stub)
                if reference is None:
                    raise LookupError("this reference belonged to another grader: it answers no more")
                inputs = protocol.decode(message.inputs, message.buffers, lambda ref: Handle(self, ref, generation))
                if type(inputs) is not list or len(inputs) != 3 or type(inputs[0]) is not dict \
                        or type(inputs[1]) is not list or type(inputs[2]) is not dict:
                    raise protocol.ProtocolError("a callback's inputs are not [state, args, kwargs]")
                if message.grad:
                    value, graph = callbacks.forward(reference, message.method, inputs, message.training)
                    self._graphs[message.call] = graph
                    while len(self._graphs) > MAX_GRAPHS:          # never asked for: forgotten, oldest first
                        self._graphs.pop(next(iter(self._graphs)))
                else:
                    value = reference.invoke(message.method, *inputs, training=message.training)
        except protocol.ProtocolError as exc:      # what the worker sent: it is the worker's doing
            worker.kill()
            raise WorkerLost("protocol", str(exc)) from None
        except WorkerLost:
            raise
        except StudentError as exc:          # the worker's objects, called by the reference, refused
            return worker.send({"op": "raise", "call": message.call, "error": _error_dict(exc)})
        except Exception as exc:             # the reference refused what it was given (a wrong shape, ...)
            return worker.send({"op": "raise", "call": message.call, "error": _error_dict(_failure(exc))})
        out: list[bytes] = []
        try:
            reply = {"op": "return", "call": message.call, "value": protocol.encode(value, out, _ref_of)}
        except protocol.ProtocolError as exc:      # what the reference answered cannot cross: the judge's doing
            out, reply = [], {"op": "raise", "call": message.call, "error": _error_dict(_failure(exc))}
        worker.send(reply, out)

    def _backward(self, message: protocol.Backward) -> list:
        graph = self._graphs.pop(message.call, None)
        if graph is None:
            raise LookupError("no forward pass of this call to go back through")
        grads = protocol.decode(message.grads, message.buffers)
        return graph.backward(grads)

    def reseed(self, seed: int) -> None:
        self.request({"op": "seed", "seed": int(seed)})

    def lookup(self, name: str):
        """A global of the notebook. Functions, classes, modules and immutable scalars are asked for once
        per worker: graders name ``nb.predict`` or ``nb.device`` hundreds of times, and a notebook does not
        rebind them while being graded. Mutable data (lists, dicts, tensors) is asked for every time."""
        if name in self._names:
            return self._names[name]
        value = self.request({"op": "global", "name": name})
        if isinstance(value, Handle) or type(value) in (str, int, float, bool, type(None)):
            self._names[name] = value
        return value

    def define(self, name: str, source: str) -> "Handle":
        """The object ``name`` that the judge's ``source`` defines, made in the worker, beside the notebook's
        globals (which it sees and leaves alone): instrumentation such as a recorder of calls, never the
        answer to a blank (that is a reference: :meth:`stub`, :meth:`remote_module`)."""
        return self.request({"op": "define", "name": name, "source": source, "keep": True})

    # ------------------------------------------------------------------ the judge's references
    def register(self, reference) -> int:
        """A number for ``reference`` (a :mod:`autograder.callbacks` Function or Module), which a stand-in in
        the worker calls back; it answers until the :meth:`scope` it was registered in ends."""
        self._numbers += 1
        self._references[self._numbers] = reference
        return self._numbers

    @contextlib.contextmanager
    def scope(self):
        """References registered inside the block answer only inside it (a grader's): a stand-in a notebook
        keeps for later calls a number the judge no longer knows."""
        before = set(self._references)
        try:
            yield
        finally:
            for number in set(self._references) - before:
                del self._references[number]
            self._graphs.clear()

    def stub(self, fn, name: str = "reference", by_handle: bool = False) -> "Handle":
        """A handle to a stand-in in the worker of the judge's function ``fn``, to pass to student code (a
        ``grads_fn`` for ``find_wrong_grads``). ``by_handle``: ``fn`` gets the worker's tensors as handles."""
        number = self.register(callbacks.Function(fn, name, by_handle))
        return self.request({"op": "stub", "id": number, "name": name, "by_handle": by_handle})

    def remote_module(self, module, methods=(), name: str = "") -> "Handle":
        """A handle to a module in the worker whose parameters and buffers are copies of ``module``'s and
        whose ``forward`` (and ``methods``) the judge computes with ``module``'s code: the book's Model,
        handed to the student's train, without its code in the worker."""
        reference = callbacks.Module(module, tuple(methods), name)
        number = self.register(reference)
        buffers: list[bytes] = []
        spec = protocol.encode(reference.spec(), buffers)
        return self.request({"op": "remote_module", "id": number, "spec": spec}, buffers)

    def module_attribute(self, module: "Handle", name: str):
        """``module.name`` for a module of the worker (``torch.as_tensor``), asked for once per worker."""
        key = (module._ref.id, name)
        if key not in self._names:
            self._names[key] = self.request({"op": "getattr", "target": module._target(), "name": name})
        return self._names[key]

    @contextlib.contextmanager
    def _setting(self, name: str, value):
        """The request setting ``name`` (a field read when a request is made) at ``value`` for the block."""
        previous = getattr(self, name)
        setattr(self, name, value)
        try:
            yield
        finally:
            setattr(self, name, previous)

    def time_limit(self, seconds: float):
        """Give the requests inside the block ``seconds`` each (e.g. for training)."""
        return self._setting("call_timeout", seconds)

    def changing(self, *handles: "Handle"):
        """Let the calls inside the block change these objects of the worker (the model handed to
        ``train``). Every other call must leave its arguments, and the module it is a method of, as
        they were: the worker compares them before and after (:mod:`autograder.guard`)."""
        return self._setting("may_change", self.may_change + handles)

    @contextlib.contextmanager
    def overriding(self, **references):
        """Calls inside the block run with these globals of the notebook replaced by stand-ins of the judge's
        references (``lstm_cell=fn`` for a function of the judge's, or a :mod:`autograder.callbacks`
        Function): blank B judged with the reference of the blank A it calls, so that each mistake costs the
        blank that made it (:mod:`autograder.references`). The references run in the judge."""
        functions = {name: ref if isinstance(ref, callbacks.Function) else callbacks.Function(ref, name)
                     for name, ref in references.items()}
        numbers = {name: [self.register(function), function.by_handle] for name, function in functions.items()}
        with self._setting("overrides", {**self.overrides, **numbers}):
            yield

    def without_autograd(self):
        """Calls inside the block run with autograd off and kept off (:mod:`autograder.fence`): a gradient
        the blank asks to be derived by hand cannot come from ``loss.backward()`` under ``enable_grad``."""
        return self._setting("autograd", False)

    def cell_errors(self) -> list[CellRun]:
        return [r for r in self.runs if r.status != "ok"]


MAX_GRAPHS = 64                     # forward passes kept for a backward pass autograd may ask for
MAX_OUTPUT = 1_000_000              # characters of all cells' stdout and stderr a submission keeps
MAX_FIGURES = 24                    # figures a submission keeps
MAX_FIGURE_BYTES = 8 << 20          # and their bytes


class Kept:
    """What one run of a notebook keeps of its cells' output: each cell's is bounded by the protocol, and
    all of them together here, so that a notebook of a thousand printing cells stays a page."""

    def __init__(self):
        self.characters = self.count = self.bytes = 0

    def text(self, text: str) -> str:
        room = MAX_OUTPUT - self.characters
        if len(text) > room:
            text = text[:max(room, 0)] + f"\n… [{len(text) - max(room, 0)} 個字元已省略 / characters cut: the " \
                                          f"notebook printed more than {MAX_OUTPUT}]\n"
        self.characters += len(text)
        return text

    def figures(self, figures) -> list[bytes]:
        kept = []
        for figure in figures:
            if self.count < MAX_FIGURES and self.bytes + len(figure) <= MAX_FIGURE_BYTES:
                kept.append(figure)
                self.count += 1
                self.bytes += len(figure)
        return kept


def _failure(exc: BaseException) -> protocol.Failure:
    return protocol.Failure(type(exc).__name__, str(exc)[:protocol.MAX_MESSAGE])


def _error_dict(failure) -> dict:
    """A failure (or a StudentError) as the dict a CellRun and a reply to the worker carry."""
    return {"type": failure.type, "message": failure.message, "traceback": failure.traceback,
            "timeout": failure.timeout}


class Handle:
    """A judge-side stand-in for an object that lives in the worker."""

    __slots__ = ("_submission", "_ref", "_generation")

    def __init__(self, submission: Submission, ref: protocol.HandleRef, generation: int):
        object.__setattr__(self, "_submission", submission)
        object.__setattr__(self, "_ref", ref)
        object.__setattr__(self, "_generation", generation)

    def _target(self) -> int:
        if self._generation != self._submission.generation or self._submission._worker is None \
                or not self._submission._worker.alive():
            raise WorkerLost("stale", "the object belonged to a worker that is gone")
        return self._ref.id

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        if self._ref.kind == "module":
            return self._submission.module_attribute(self, name)
        return self._submission.request({"op": "getattr", "target": self._target(), "name": name})

    def __call__(self, *args, **kwargs):
        return self._submission.request(*_call_request(self, args, kwargs, keep=False))

    def __getitem__(self, key):
        buffers: list[bytes] = []
        header = {"op": "getitem", "target": self._target(), "key": protocol.encode(key, buffers, _ref_of)}
        return self._submission.request(header, buffers)

    def __setitem__(self, key, value):
        """``target[key] = value`` in the worker (a reference that nudges the worker's θ in place)."""
        buffers: list[bytes] = []
        header = {"op": "setitem", "target": self._target(), "key": protocol.encode(key, buffers, _ref_of),
                  "value": protocol.encode(value, buffers, _ref_of)}
        self._submission.request(header, buffers)

    def __setattr__(self, name, value):
        raise AttributeError("handles are read-only; call a method of the object instead")

    def __bool__(self):
        raise TypeError("a handle has no truth value; compare plain data instead")

    def __repr__(self) -> str:
        return f"<{self._ref.kind} in the worker, #{self._ref.id}>"

    @property
    def kind(self) -> str:
        """The name of the object's type, as the worker reports it (a label, not a proof)."""
        return self._ref.kind


def keep(function: Handle, *args, **kwargs) -> Handle:
    """Call ``function`` in the worker and leave the result there, even if it is plain data.

    For inputs that must stay on the worker's device: ``x = keep(nb.torch.as_tensor, array)``.
    """
    return function._submission.request(*_call_request(function, args, kwargs, keep=True))


def _call_request(function: Handle, args, kwargs, keep: bool) -> tuple[dict, list[bytes]]:
    buffers: list[bytes] = []
    header = {
        "op": "call",
        "target": function._target(),
        "args": protocol.encode(list(args), buffers, _ref_of),
        "kwargs": protocol.encode(dict(kwargs), buffers, _ref_of),
        "keep": keep,
        "guard": True,                 # the call may not change its arguments (autograder.guard)
        "exempt": [h._target() for h in function._submission.may_change],
        "override": function._submission.overrides,
        "autograd": function._submission.autograd,
    }
    return header, buffers


def _ref_of(value) -> protocol.HandleRef:
    """Arguments may include handles: they travel as the reference they hold."""
    if type(value) is Handle:
        value._target()
        return value._ref
    raise protocol.ProtocolError(f"{type(value).__name__} cannot be sent to the worker")
