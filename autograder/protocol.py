"""The wire between the judge (trusted) and the worker (untrusted).

A message is one frame: an 8-byte big-endian length, then a JSON header, then raw buffers::

    frame   = u64 total | u32 header_len | header (UTF-8 JSON) | u32 n_buffers | (u64 len | bytes)*

Values travel as *plain data* only.  ``encode`` (run by either side) turns a value into a JSON tree
plus a list of raw buffers; ``decode`` (run by the judge on what the worker sends) rebuilds it from
that tree and those bytes alone.  Nothing is unpickled, nothing is ``eval``ed, and no object the
student made ever reaches the judge: arrays and tensors are rebuilt from their bytes, dtype and
shape, and everything else that is not plain stays in the worker behind a numbered handle.

``decode`` is the trust boundary, so it checks every tag, dtype, shape and length it is given and
raises :class:`ProtocolError` on anything else.
"""

from __future__ import annotations

import json
import math
import re
import struct
import sys
# Bound now, as module globals: student code in the worker may replace the builtins (isinstance,
# type, ...) or numpy's and torch's attributes, and the worker must still speak the protocol.
from builtins import bytes, dict, float, int, isinstance, len, list, range, str, tuple, type  # noqa: A004
from dataclasses import dataclass
from typing import Any

import numpy as np

_ndarray, _generic, _np_asarray = np.ndarray, np.generic, np.asarray
_np_frombuffer, _np_where, _np_cumsum, _np_uint8 = np.frombuffer, np.where, np.cumsum, np.uint8
_json_loads = json.loads
_TORCH: dict = {}                # torch's Tensor, Parameter and int16, bound once torch is loaded

MAX_FRAME = 64 * 1024 * 1024    # a frame larger than this is refused, whoever sent it
MAX_BUFFERS = 1 << 16           # raw buffers of one frame (each costs the parser a step: bounded too)
MAX_DEPTH = 32                  # nesting of lists, tuples and dicts in a value
MAX_NESTING = 2 * MAX_DEPTH + 8   # of the JSON header: a value node is an object holding a list
MAX_DIGITS = 20                 # of a bare JSON integer (an int value travels as a string, bounded apart)
MAX_INT_DIGITS = 4300           # of an int value (Python's own limit for str → int)
MAX_ITEMS = 1_000_000           # elements of all containers in one value

# numpy dtypes that may cross: booleans, integers, floats, complex numbers, fixed-width unicode.
_ARRAY_KINDS = set("biufcU")
# torch dtypes by name; bfloat16 has no numpy twin, so it travels as its raw 16-bit words.
_TORCH_DTYPES = (
    "bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16",
    "float32", "float64", "complex64", "complex128",
)


class ProtocolError(Exception):
    """The other side sent something that is not a well-formed message of plain data."""


@dataclass(frozen=True)
class HandleRef:
    """A reference to an object that lives in the worker. ``kind`` is only a label for messages."""

    id: int
    kind: str


# ---------------------------------------------------------------------------------------- framing

def write_frame(sock, header: dict, buffers: list[bytes] = ()) -> None:
    head = json.dumps(header, ensure_ascii=False, allow_nan=False).encode("utf-8")
    parts = [struct.pack(">I", len(head)), head, struct.pack(">I", len(buffers))]
    for buf in buffers:
        parts.append(struct.pack(">Q", len(buf)))
        parts.append(bytes(buf) if not isinstance(buf, bytes) else buf)
    body = b"".join(parts)
    if len(body) > MAX_FRAME:
        raise ProtocolError(f"message of {len(body)} bytes is larger than {MAX_FRAME}")
    sock.sendall(struct.pack(">Q", len(body)) + body)


def _recv_exactly(sock, n: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(min(n - len(chunks), 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the connection")
        chunks += chunk
    return bytes(chunks)


def read_frame(sock) -> tuple[dict, list[bytes]]:
    (total,) = struct.unpack(">Q", _recv_exactly(sock, 8))
    if total > MAX_FRAME:
        raise ProtocolError(f"frame of {total} bytes is larger than {MAX_FRAME}")
    body = _recv_exactly(sock, total)
    return parse_body(body)


def parse_body(body: bytes) -> tuple[dict, list[bytes]]:
    """A frame's body as (header, buffers); any bytes at all give that or :class:`ProtocolError`, nothing else.

    Sizes, the nesting of the JSON header and the digits of its numbers are bounded *before* they are
    parsed: a hostile worker's integer of a million digits or lists nested 100,000 deep cost a scan,
    never a quadratic conversion or the judge's stack."""
    try:
        (head_len,) = struct.unpack_from(">I", body, 0)
        pos = 4 + head_len
        if pos > len(body):
            raise ProtocolError("header runs past the end of the frame")
        header = loads(body[4:pos])
        (count,) = struct.unpack_from(">I", body, pos)
        pos += 4
        if count > MAX_BUFFERS:
            raise ProtocolError(f"{count} buffers in one frame (at most {MAX_BUFFERS})")
        buffers = []
        for _ in range(count):
            (size,) = struct.unpack_from(">Q", body, pos)
            pos += 8
            if pos + size > len(body):
                raise ProtocolError("buffer runs past the end of the frame")
            buffers.append(body[pos:pos + size])
            pos += size
    except struct.error as exc:
        raise ProtocolError(f"malformed frame: {exc}") from None
    if pos != len(body) or type(header) is not dict:
        raise ProtocolError("malformed frame: trailing bytes or a header that is not an object")
    return header, buffers


# a JSON string, escapes included: what is inside one is data, never structure
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


def nesting(text: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest, found without parsing it (brackets outside
    strings, counted by numpy: linear in the text, whatever it holds)."""
    brackets = _JSON_STRING.sub(b"", text).translate(None, _NOT_BRACKET)
    if not brackets:
        return 0
    codes = _np_frombuffer(brackets, dtype=_np_uint8)
    steps = _np_where((codes == 0x5B) | (codes == 0x7B), 1, -1)          # [ and { open, ] and } close
    return int(_np_cumsum(steps).max())


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise ProtocolError(f"a JSON integer of {len(text)} digits")
    return int(text)


def _no_constant(text: str):
    raise ProtocolError(f"{text} is not JSON")


def loads(head: bytes):
    """The JSON header, bounded: nesting, integer digits, no NaN or infinities (they travel tagged)."""
    if nesting(head) > MAX_NESTING:
        raise ProtocolError(f"JSON nested deeper than {MAX_NESTING}")
    try:
        return _json_loads(head.decode("utf-8"), parse_int=_bounded_int, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:    # JSONDecodeError is a ValueError
        raise ProtocolError(f"malformed header: {str(exc)[:200]}") from None


# ---------------------------------------------------------------------------------------- values

def _float_tree(x: float) -> Any:
    # JSON has no NaN or infinities; they travel as tagged strings.
    if math.isfinite(x):
        return x
    return {"t": "float", "v": repr(x)}


def encode(value: Any, buffers: list[bytes], handle_of=None, depth: int = 0, by_handle: bool = False) -> Any:
    """Turn ``value`` into a JSON tree, appending raw buffers to ``buffers``.

    ``handle_of(obj) -> HandleRef`` is called for anything that is not plain data; without it,
    such a value is an error.  Exact types are tested, so a subclass with surprising behaviour is
    never taken for the plain type it pretends to be. ``by_handle``: arrays and tensors go by handle
    too (they stay where they are, for code that must change them in place).
    """
    if depth > MAX_DEPTH:
        raise ProtocolError("value nested too deeply")
    t = type(value)
    if value is None or t is bool or t is str:
        return value if t is not str else {"t": "str", "v": value}
    if t is int:
        return {"t": "int", "v": str(value)}
    if t is float:
        return _float_tree(value)
    if t in (list, tuple):
        return {"t": t.__name__, "v": [encode(v, buffers, handle_of, depth + 1, by_handle) for v in value]}
    if t is dict or (t.__module__ == "collections" and t.__name__ == "OrderedDict"):
        items = [[encode(k, buffers, handle_of, depth + 1), encode(v, buffers, handle_of, depth + 1, by_handle)]
                 for k, v in value.items()]
        return {"t": "dict", "v": items}
    if by_handle and handle_of is not None and (t is _ndarray or _is_tensor(value)):
        ref = handle_of(value)
        return {"t": "handle", "id": ref.id, "kind": ref.kind}
    if t is bytes:
        buffers.append(value)
        return {"t": "bytes", "b": len(buffers) - 1}
    if t is HandleRef:
        return {"t": "handle", "id": value.id, "kind": value.kind}
    if isinstance(value, _generic) and type(value).__module__ == "numpy":
        return encode(_np_asarray(value), buffers, handle_of, depth)
    if t is _ndarray and value.dtype.kind in _ARRAY_KINDS:
        arr = value if value.flags.c_contiguous else value.copy(order="C")   # (keeps 0-d arrays 0-d)
        buffers.append(arr.tobytes())
        return {"t": "ndarray", "dtype": arr.dtype.str, "shape": list(arr.shape), "b": len(buffers) - 1}
    if _is_tensor(value):
        return _encode_tensor(value, buffers)
    if handle_of is not None:
        ref = handle_of(value)
        return {"t": "handle", "id": ref.id, "kind": ref.kind}
    raise ProtocolError(f"{t.__name__} is not plain data")


def is_tensor(value) -> bool:
    """A torch tensor or parameter (exact types: a subclass is not plain data)."""
    return _is_tensor(value)


def tensors_in(value, found=None, depth: int = 0) -> list:
    """The tensors in ``value`` (nested lists, tuples and dicts of exact types), in order: the same order
    on both sides of the wire, where the judge and the worker each hold the value."""
    found = [] if found is None else found
    if depth > MAX_DEPTH:
        return found
    t = type(value)
    if _is_tensor(value):
        found.append(value)
    elif t in (list, tuple):
        for item in value:
            tensors_in(item, found, depth + 1)
    elif t is dict:
        for item in value.values():
            tensors_in(item, found, depth + 1)
    return found


def bind_torch() -> None:
    """Remember torch's types (the worker calls this before any student code runs)."""
    torch = sys.modules.get("torch")
    if torch is not None and not _TORCH:
        _TORCH.update(tensor=torch.Tensor, parameter=torch.nn.Parameter, int16=torch.int16)


def _is_tensor(value) -> bool:
    bind_torch()
    return bool(_TORCH) and type(value) in (_TORCH["tensor"], _TORCH["parameter"])


def _encode_tensor(value, buffers: list[bytes]) -> dict:
    name = str(value.dtype).removeprefix("torch.")
    if name not in _TORCH_DTYPES:
        raise ProtocolError(f"tensor of dtype {name} cannot cross")
    t = value.detach().to("cpu").contiguous()
    if name == "bfloat16":
        t = t.view(_TORCH["int16"])
    buffers.append(t.numpy().tobytes())
    return {"t": "tensor", "dtype": name, "shape": list(value.shape), "b": len(buffers) - 1,
            "device": str(value.device.type)}


class _Budget:
    def __init__(self):
        self.items = 0

    def take(self, n: int = 1):
        self.items += n
        if self.items > MAX_ITEMS:
            raise ProtocolError("value has too many elements")


def decode(tree: Any, buffers: list[bytes], make_handle=None) -> Any:
    """Rebuild a value from a JSON tree and raw buffers, trusting neither: the value, or
    :class:`ProtocolError` whatever the tree holds (nothing else escapes).

    ``make_handle(HandleRef)`` builds the judge-side proxy for a worker object.
    """
    try:
        return _decode(tree, buffers, make_handle)
    except ProtocolError:
        raise
    except (Exception, RecursionError, MemoryError) as exc:      # numpy's or torch's refusal of a shape, ...
        raise ProtocolError(f"malformed value: {type(exc).__name__}: {str(exc)[:200]}") from None


def _decode(tree: Any, buffers: list[bytes], make_handle=None, *, _depth: int = 0, _budget=None) -> Any:
    budget = _budget or _Budget()
    budget.take()
    if _depth > MAX_DEPTH:
        raise ProtocolError("value nested too deeply")
    if tree is None or type(tree) is bool:
        return tree
    if type(tree) in (int, float):
        # bare JSON numbers are floats by convention (ints are tagged, to keep their size exact)
        return float(tree)
    if type(tree) is not dict or type(tree.get("t")) is not str:
        raise ProtocolError(f"unexpected node {type(tree).__name__}")
    tag = tree["t"]
    rec = lambda v: _decode(v, buffers, make_handle, _depth=_depth + 1, _budget=budget)  # noqa: E731
    if tag == "str":
        return _expect(tree, "v", str)
    if tag == "int":
        text = _expect(tree, "v", str)
        if len(text) > MAX_INT_DIGITS or not text.lstrip("-").isascii() or not text.lstrip("-").isdigit():
            raise ProtocolError("malformed int")
        return int(text)
    if tag == "float":
        text = _expect(tree, "v", str)
        if text not in ("nan", "inf", "-inf"):
            raise ProtocolError("malformed float")
        return float(text)
    if tag in ("list", "tuple"):
        items = _expect(tree, "v", list)
        budget.take(len(items))
        out = [rec(v) for v in items]
        return out if tag == "list" else tuple(out)
    if tag == "dict":
        items = _expect(tree, "v", list)
        budget.take(len(items))
        out = {}
        for pair in items:
            if type(pair) is not list or len(pair) != 2:
                raise ProtocolError("malformed dict item")
            key = rec(pair[0])
            if type(key) not in (str, int, float, bool, tuple) and key is not None:
                raise ProtocolError("dict key is not hashable plain data")
            out[key] = rec(pair[1])
        return out
    if tag == "bytes":
        return _buffer(tree, buffers)
    if tag == "ndarray":
        return _decode_array(tree, buffers)
    if tag == "tensor":
        return _decode_tensor(tree, buffers)
    if tag == "handle":
        ref = HandleRef(_expect(tree, "id", int), _expect(tree, "kind", str)[:200])
        if not 0 < ref.id < 2**62:
            raise ProtocolError("handle number out of range")
        if make_handle is None:
            return ref
        return make_handle(ref)
    raise ProtocolError(f"unknown tag {tag!r}")


def _expect(tree: dict, key: str, kind: type):
    value = tree.get(key)
    if type(value) is not kind:
        raise ProtocolError(f"field {key!r} should be {kind.__name__}")
    return value


def _buffer(tree: dict, buffers: list[bytes]) -> bytes:
    index = _expect(tree, "b", int)
    if not 0 <= index < len(buffers):
        raise ProtocolError("buffer index out of range")
    return buffers[index]


def _shape(tree: dict) -> tuple[int, ...]:
    shape = _expect(tree, "shape", list)
    if len(shape) > 32 or any(type(d) is not int or not 0 <= d < 2**40 for d in shape):
        raise ProtocolError("malformed shape")
    return tuple(shape)


def _decode_array(tree: dict, buffers: list[bytes]) -> np.ndarray:
    text = _expect(tree, "dtype", str)
    try:
        dtype = np.dtype(text)
    except TypeError:
        raise ProtocolError(f"unknown dtype {text!r}") from None
    if dtype.kind not in _ARRAY_KINDS or dtype.hasobject or dtype.fields is not None or len(text) > 8:
        raise ProtocolError(f"dtype {text!r} may not cross")
    shape = _shape(tree)
    raw = _buffer(tree, buffers)
    if math.prod(shape) * dtype.itemsize != len(raw):
        raise ProtocolError("array bytes do not match its shape and dtype")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def _decode_tensor(tree: dict, buffers: list[bytes]):
    import torch

    name = _expect(tree, "dtype", str)
    if name not in _TORCH_DTYPES:
        raise ProtocolError(f"tensor dtype {name!r} may not cross")
    shape = _shape(tree)
    raw = _buffer(tree, buffers)
    dtype = getattr(torch, name)
    wire = torch.int16 if name == "bfloat16" else dtype
    itemsize = torch.empty((), dtype=wire).element_size()
    if math.prod(shape) * itemsize != len(raw):
        raise ProtocolError("tensor bytes do not match its shape and dtype")
    if len(raw) == 0:
        return torch.empty(shape, dtype=dtype)
    flat = torch.frombuffer(bytearray(raw), dtype=wire)
    if name == "bfloat16":
        flat = flat.view(torch.bfloat16)
    return flat.reshape(shape).clone()


# ---------------------------------------------------------------------------------------- messages
# What the judge accepts from a worker, message by message, each field checked for its type and range.
# A message that is not exactly one of these is a ProtocolError (the judge then kills the worker and
# ends that submission's request or cell with a reason); a text is cut to its bound, never trusted.

MAX_TYPE, MAX_MESSAGE, MAX_TRACEBACK = 200, 4000, 8000
MAX_OUTPUT = 20_200                 # characters of a cell's stdout or stderr (the worker keeps 20,000 and a note)
MAX_FIGURES = 4                     # figures of one cell
MAX_FIGURE_BYTES = 1 << 20          # bytes of one figure
PNG = b"\x89PNG\r\n\x1a\n"
MAX_MEASURES = 40


@dataclass(frozen=True)
class Failure:
    """An exception of the worker's (the student's code, or the worker refusing a request), as text."""

    type: str
    message: str
    traceback: str = ""
    timeout: bool = False


@dataclass(frozen=True)
class CellStarted:
    index: int


@dataclass(frozen=True)
class CellDone:
    index: int
    error: Failure | None
    stdout: str
    stderr: str
    figures: tuple[bytes, ...]


@dataclass(frozen=True)
class Ready:
    token: str


@dataclass(frozen=True)
class Reply:
    """A request's value: a tree for :func:`decode` and its buffers."""

    value: Any
    buffers: tuple[bytes, ...]


@dataclass(frozen=True)
class Callback:
    """Student code called a stand-in of the judge's (:mod:`autograder.remote`) while serving a request:
    stand-in ``stub``, its method ``method``, on ``inputs`` = [state, args, kwargs] (state: a module's
    parameters and buffers, else empty); ``grad``: autograd will ask for the gradients of the inputs (a
    :class:`Backward` of the same ``call`` follows, or never does); ``training``: a module's mode."""

    stub: int
    call: int
    method: str
    inputs: Any
    buffers: tuple[bytes, ...]
    grad: bool = False
    training: bool | None = None


@dataclass(frozen=True)
class Backward:
    """Autograd asks for the gradients of the inputs of callback ``call``, given those of its outputs."""

    call: int
    grads: Any
    buffers: tuple[bytes, ...]


def _field(header: dict, key: str, kind: type):
    value = header.get(key)
    if type(value) is not kind:
        raise ProtocolError(f"{key!r} should be {kind.__name__}, not {type(value).__name__}")
    return value


def _count(header: dict, key: str, below: int) -> int:
    value = _field(header, key, int)
    if not 0 <= value < below:
        raise ProtocolError(f"{key!r} out of range: {value}")
    return value


def failure(value) -> Failure:
    if type(value) is not dict:
        raise ProtocolError(f"an error that is {type(value).__name__}, not an object")
    return Failure(_field(value, "type", str)[:MAX_TYPE], _field(value, "message", str)[:MAX_MESSAGE],
                   _field(value, "traceback", str)[-MAX_TRACEBACK:], _field(value, "timeout", bool))


def sandbox_report(header: dict) -> list[str]:
    """The worker's first frame: the names of the measures it is under."""
    if header.get("event") != "sandbox":
        raise ProtocolError("no sandbox report")
    measures = _field(header, "isolation", list)
    if len(measures) > MAX_MEASURES or any(type(m) is not str or len(m) > 60 for m in measures):
        raise ProtocolError("malformed sandbox report")
    return list(measures)


def notebook_event(header: dict, buffers: list[bytes], cells: int) -> CellStarted | CellDone | Ready:
    """A message of a worker running a notebook of ``cells`` code cells."""
    event = header.get("event")
    if event == "ready":
        return Ready(_field(header, "token", str))
    if event != "cell":
        raise ProtocolError(f"unexpected message while the notebook ran: {str(event)[:40]!r}")
    index = _count(header, "index", cells)
    status = header.get("status")
    if status == "start":
        return CellStarted(index)
    if status not in ("ok", "error"):
        raise ProtocolError("a cell's status should be start, ok or error")
    error = header.get("error")
    if (error is None) != (status == "ok"):
        raise ProtocolError("a cell's error and its status disagree")
    figures = _count(header, "figures", MAX_FIGURES + 1)
    if figures != len(buffers) or any(len(b) > MAX_FIGURE_BYTES or not b.startswith(PNG) for b in buffers):
        raise ProtocolError("a cell's figures are not what it says (at most 4 PNG images of 1 MiB)")
    return CellDone(index, None if error is None else failure(error), _field(header, "stdout", str)[:MAX_OUTPUT],
                    _field(header, "stderr", str)[:MAX_OUTPUT], tuple(buffers))


METHOD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}\Z")


def reply(header: dict, buffers: list[bytes]) -> Reply | Failure | Callback | Backward:
    """A message of a worker serving a request: its answer, or a callback it makes first."""
    ok = header.get("ok")
    if ok is True:
        if "value" not in header:
            raise ProtocolError("a reply without a value")
        return Reply(header["value"], tuple(buffers))
    if ok is False:
        return failure(header.get("error"))
    event = header.get("event")
    if event == "callback":
        method = _field(header, "method", str)
        if not METHOD.match(method):
            raise ProtocolError("a callback's method is not a name")
        training = header.get("training")
        if training is not None and type(training) is not bool:
            raise ProtocolError("a callback's training should be true, false or null")
        return Callback(_count(header, "stub", 2**62), _count(header, "call", 2**62), method, header.get("inputs"),
                        tuple(buffers), _field(header, "grad", bool), training)
    if event == "backward":
        return Backward(_count(header, "call", 2**62), header.get("grads"), tuple(buffers))
    raise ProtocolError("a reply that is neither a value, an error nor a callback")
