"""Every byte a worker sends is hostile: the wire's parser and the judge's handling of each message, fuzzed.

Whatever a worker sends, the judge gets a message it can use or a ProtocolError, and a submission whose worker
sends garbage ends with a reason (``WorkerLost``), never an exception that escapes the judge. Properties are
checked with hypothesis on random bytes, truncations and mutations of valid frames, and valid JSON of every
wrong shape (deep nesting, integers of thousands of digits, fields of the wrong type); the judge's side runs
against a fake worker on a socketpair, so thousands of frames cost seconds.
"""

from __future__ import annotations

import json
import socket
import struct
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder import protocol, spawn
from autograder.isolation import Policy
from autograder.limits import Limits
from autograder.protocol import ProtocolError
from autograder.submission import StudentError, Submission
from autograder.worker_process import WorkerLost

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def frame(header, buffers=()) -> bytes:
    """A body as the wire carries it (without the 8-byte length)."""
    head = header if isinstance(header, bytes) else json.dumps(header).encode()
    parts = [struct.pack(">I", len(head)), head, struct.pack(">I", len(buffers))]
    for b in buffers:
        parts += [struct.pack(">Q", len(b)), b]
    return b"".join(parts)


# JSON of every shape, the judge's own tags among the keys and strings so that it reaches deep into decode
KEYS = st.sampled_from(["t", "v", "b", "id", "kind", "dtype", "shape", "ok", "value", "error", "event", "index",
                        "status", "stdout", "stderr", "figures", "token", "type", "message", "traceback", "timeout",
                        "isolation", "stub", "call", "method", "inputs", "grad", "training", "grads"])
TAGS = st.sampled_from(["str", "int", "float", "list", "tuple", "dict", "bytes", "ndarray", "tensor", "handle",
                        "cell", "ready", "start", "ok", "error", "callback", "backward", "sandbox", "<f4", "|O",
                        "float32", "bfloat16", "nan", "inf", "1e9", "9" * 5000])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False),
                    st.text(max_size=30), TAGS)
JSON = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                     st.dictionaries(st.one_of(KEYS, st.text(max_size=5)), inner,
                                                                     max_size=6)), max_leaves=40)
BUFFERS = st.lists(st.binary(max_size=64), max_size=4)


def nested(depth: int, opener: str = "[") -> bytes:
    closer = {"[": "]", "{": "}"}[opener]
    inner = '"a": 1' if opener == "{" else "1"
    body = (opener + ('"k": ' if opener == "{" else "")) * depth
    return (body + inner + closer * depth).encode()


HOSTILE_HEADERS = [
    b"[" * 100_000 + b"]" * 100_000,                 # lists nested 100,000 deep
    nested(5_000, "{"),
    b'{"ok": true, "value": {"t": "int", "v": "1"}, "n": ' + b"9" * 5_000 + b"}",   # a bare integer of 5,000 digits
    b'{"ok": true, "value": NaN}', b'{"ok": true, "value": Infinity}',
    b'{"ok": false, "error": [1, 2]}', b'{"ok": false, "error": 7}', b'{"ok": false, "error": {"type": 1}}',
    b'{"event": "cell", "index": "0", "status": "ok"}', b'{"event": "cell", "index": -1, "status": "start"}',
    b'{"event": "cell", "index": 0, "status": "ok", "error": null, "stdout": [], "stderr": "", "figures": 0}',
    b'{"event": "callback", "stub": 1, "call": 1, "method": "__class__.__mro__", "inputs": null, "grad": false}',
    b"\xff\xfe not utf-8", b"", b"null", b'"a string"', b"[1, 2]",
]


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_give_a_frame_or_a_protocol_error(body):
    try:
        header, buffers = protocol.parse_body(body)
    except ProtocolError:
        return
    assert type(header) is dict and all(type(b) is bytes for b in buffers)


@FUZZ
@given(JSON, BUFFERS, st.data())
def test_truncated_and_mutated_frames_give_a_frame_or_a_protocol_error(header, buffers, data):
    body = frame({"value": header}, buffers)
    cut = data.draw(st.integers(0, len(body)))
    flips = data.draw(st.lists(st.tuples(st.integers(0, max(len(body) - 1, 0)), st.integers(0, 255)), max_size=3))
    mutated = bytearray(body[:cut] if data.draw(st.booleans()) else body)
    for at, byte in flips:
        if at < len(mutated):
            mutated[at] = byte
    try:
        protocol.parse_body(bytes(mutated))
    except ProtocolError:
        pass


@pytest.mark.parametrize("head", HOSTILE_HEADERS, ids=[str(i) for i in range(len(HOSTILE_HEADERS))])
def test_hostile_headers_are_bounded_before_they_are_parsed(head):
    """Nesting, digits and constants are refused (or parsed into something the message layer refuses)."""
    try:
        header, buffers = protocol.parse_body(frame(head))
    except ProtocolError:
        return
    for read in (protocol.sandbox_report, lambda h: protocol.reply(h, buffers),
                 lambda h: protocol.notebook_event(h, buffers, 3)):
        try:
            read(header)
        except ProtocolError:
            pass


def test_nesting_is_measured_outside_strings():
    assert protocol.nesting(b'{"a": "[[[[{{{{", "b": [[1]]}') == 3
    assert protocol.nesting(b'"\\"[[[["') == 0 and protocol.nesting(b"") == 0


@FUZZ
@given(JSON, BUFFERS)
def test_decoding_any_tree_gives_plain_data_or_a_protocol_error(tree, buffers):
    try:
        protocol.decode(tree, buffers, lambda ref: ("handle", ref.id))
    except ProtocolError:
        pass


@FUZZ
@given(JSON, BUFFERS, st.integers(0, 5))
def test_every_message_kind_is_read_field_by_field(header, buffers, cells):
    """Each reader gives its dataclass, with fields of the right types and bounds, or a ProtocolError."""
    header = header if type(header) is dict else {"value": header}
    for read in (lambda: protocol.sandbox_report(header), lambda: protocol.reply(header, buffers),
                 lambda: protocol.notebook_event(header, buffers, cells)):
        try:
            message = read()
        except ProtocolError:
            continue
        if isinstance(message, protocol.CellDone):
            assert 0 <= message.index < cells and type(message.stdout) is str and len(message.stdout) <= 20_200
            assert all(f.startswith(protocol.PNG) for f in message.figures)
        if isinstance(message, protocol.Failure):
            assert all(type(v) is str for v in (message.type, message.message, message.traceback))
        if isinstance(message, protocol.Callback):
            assert type(message.stub) is int and protocol.METHOD.match(message.method)


# ------------------------------------------------------------------ the judge, against a fake worker
class FakeWorker:
    """Plays a worker on the other end of a socketpair: reports a sandbox, then answers one request with the
    frames it is given, raw, and hangs up. With ``ready``, the notebook run comes first and ends well (the
    frames then answer the next request, a grader's). Killed (``os.killpg`` of its pid), it hangs up too."""

    playing: dict = {}
    pids = iter(range(10 ** 9, 2 * 10 ** 9))

    def __init__(self, frames: list[bytes], ready: bool = False):
        self.pid = next(self.pids)
        self.playing[self.pid] = self
        self.judge_end, self.end = socket.socketpair()
        self.output_read, self.output_write = socket.socketpair()
        self.frames, self.ready = frames, ready
        self.code = None
        self.thread = threading.Thread(target=self.play, daemon=True)
        self.thread.start()

    def die(self):
        try:
            self.end.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.thread.join(5)

    def send_body(self, body: bytes):
        self.end.sendall(struct.pack(">Q", len(body)) + body)

    def play(self):
        try:
            self.send_body(frame({"event": "sandbox", "isolation": []}))
            request, _ = protocol.read_frame(self.end)
            if self.ready:
                self.send_body(frame({"event": "ready", "token": request["token"]}))
                protocol.read_frame(self.end)            # a grader's request
            for body in self.frames:
                self.send_body(body)
        except (OSError, EOFError, ProtocolError):
            pass
        finally:
            self.code = 0
            self.end.close()                             # and it hangs up, as a worker that died
            self.output_write.close()

    # the spawn.Process interface the judge uses
    def poll(self):
        return self.code

    def wait(self, timeout):
        self.thread.join(timeout)
        self.code = 0 if self.code is None else self.code
        return self.code

    def peak_kib(self):
        return None

    def left_behind(self):
        return []


@pytest.fixture
def fake_workers(monkeypatch):
    """``use(frames)``: the next worker a Submission starts is a FakeWorker sending ``frames``."""
    made = []

    def start(limits, workdir, env, hide=()):
        frames, ready = made.pop(0) if made else ([], False)
        worker = FakeWorker(frames, ready)
        return worker, worker.judge_end, worker.output_read.makefile("rb", buffering=0)

    monkeypatch.setattr(spawn, "start", start)
    monkeypatch.setattr("os.killpg", lambda pid, signal: FakeWorker.playing.pop(pid).die()
                        if pid in FakeWorker.playing else None)
    return made


LIMITS = Limits(cell_seconds=2, notebook_seconds=3, call_seconds=2, restarts=0)
TRUSTED = Policy(trusted=True)           # the fake worker reports no measure: isolation is not what is tested


def judged(submission: Submission, action) -> str:
    """What became of the judge's action: "ok", or the kind of exception it ended with (the only ones allowed)."""
    try:
        action()
    except WorkerLost as lost:
        return f"lost: {lost.reason}"
    except StudentError:
        return "student error"
    finally:
        submission.close()
    return "ok"


class Hostile(bytes):
    """One of HOSTILE_HEADERS as a frame, shown by its number (hypothesis prints what it draws)."""

    def __new__(cls, index: int):
        made = super().__new__(cls, frame(HOSTILE_HEADERS[index]))
        made.index = index
        return made

    def __repr__(self) -> str:
        return f"Hostile({self.index})"


HOSTILE = st.integers(0, len(HOSTILE_HEADERS) - 1).map(Hostile)
JUDGE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@JUDGE
@given(st.lists(st.one_of(JSON.map(lambda v: frame(v if type(v) is dict else {"value": v})), HOSTILE,
                          st.binary(max_size=60)), min_size=1, max_size=3))
def test_a_notebook_run_survives_any_frames(fake_workers, frames):
    fake_workers.append((frames, False))
    submission = Submission(["x = 1", "y = 2"], limits=LIMITS, policy=TRUSTED)
    assert judged(submission, submission.start) in ("ok", "lost: protocol", "lost: died", "lost: timeout")


@JUDGE
@given(st.lists(st.one_of(JSON.map(lambda v: frame(v if type(v) is dict else {"ok": True, "value": v})), HOSTILE,
                          st.builds(lambda stub, call, inputs: frame({"event": "callback", "stub": stub, "call": call,
                                                                      "method": "__call__", "inputs": inputs,
                                                                      "grad": False}),
                                    st.integers(0, 3), st.integers(0, 3), JSON),
                          st.builds(lambda call, grads: frame({"event": "backward", "call": call, "grads": grads}),
                                    st.integers(0, 3), JSON)), min_size=1, max_size=3))
def test_a_request_survives_any_reply_and_any_callback(fake_workers, frames):
    """A grader's request answered by anything: a value, an error, callbacks to references (a live one and a
    forgotten one), backward passes; the judge answers what it can and ends with a value or a reason."""
    fake_workers.append((frames, True))
    submission = Submission([], limits=LIMITS, policy=TRUSTED)
    submission.start()
    with submission.scope():
        submission.register(__import__("autograder.callbacks", fromlist=["Function"]).Function(lambda *a: 1, "one"))
        outcome = judged(submission, lambda: submission.request({"op": "global", "name": "x"}))
    assert outcome in ("ok", "student error", "lost: protocol", "lost: died", "lost: timeout")


@pytest.mark.parametrize("body", [frame(h) for h in HOSTILE_HEADERS] + [b"\x00" * 12],
                         ids=[str(i) for i in range(len(HOSTILE_HEADERS) + 1)])
def test_each_hostile_frame_ends_the_submission_with_a_reason(fake_workers, body):
    for at_start in (True, False):
        fake_workers.append(([body], not at_start))
        submission = Submission(["x = 1"] if at_start else [], limits=LIMITS, policy=TRUSTED)
        if at_start:
            outcome = judged(submission, submission.start)
        else:
            submission.start()
            outcome = judged(submission, lambda: submission.request({"op": "global", "name": "x"}))
        assert outcome in ("ok", "student error", "lost: protocol", "lost: died", "lost: timeout"), outcome


def test_a_frame_larger_than_the_bound_is_refused_before_it_is_read():
    judge_end, worker_end = socket.socketpair()
    worker_end.sendall(struct.pack(">Q", protocol.MAX_FRAME + 1))
    with pytest.raises(ProtocolError, match="larger than"):
        protocol.read_frame(judge_end)
