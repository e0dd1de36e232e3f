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
import struct
import sys
# Bound now, as module globals: student code in the worker may replace the builtins (isinstance,
# type, ...) or numpy's and torch's attributes, and the worker must still speak the protocol.
from builtins import bytes, dict, float, int, isinstance, len, list, range, str, tuple, type  # noqa: A004
from dataclasses import dataclass
from typing import Any

import numpy as np

_ndarray, _generic, _np_asarray = np.ndarray, np.generic, np.asarray
_TORCH: dict = {}                # torch's Tensor, Parameter and int16, bound once torch is loaded

MAX_FRAME = 512 * 1024 * 1024   # a frame larger than this is refused, whoever sent it
MAX_DEPTH = 32                  # nesting of lists, tuples and dicts
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
    try:
        (head_len,) = struct.unpack_from(">I", body, 0)
        pos = 4 + head_len
        header = json.loads(body[4:pos].decode("utf-8"))
        (count,) = struct.unpack_from(">I", body, pos)
        pos += 4
        buffers = []
        for _ in range(count):
            (size,) = struct.unpack_from(">Q", body, pos)
            pos += 8
            if pos + size > len(body):
                raise ProtocolError("buffer runs past the end of the frame")
            buffers.append(body[pos:pos + size])
            pos += size
    except (struct.error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"malformed frame: {exc}") from None
    if pos != len(body) or not isinstance(header, dict):
        raise ProtocolError("malformed frame: trailing bytes or a header that is not an object")
    return header, buffers


# ---------------------------------------------------------------------------------------- values

def _float_tree(x: float) -> Any:
    # JSON has no NaN or infinities; they travel as tagged strings.
    if math.isfinite(x):
        return x
    return {"t": "float", "v": repr(x)}


def encode(value: Any, buffers: list[bytes], handle_of=None, depth: int = 0) -> Any:
    """Turn ``value`` into a JSON tree, appending raw buffers to ``buffers``.

    ``handle_of(obj) -> HandleRef`` is called for anything that is not plain data; without it,
    such a value is an error.  Exact types are tested, so a subclass with surprising behaviour is
    never taken for the plain type it pretends to be.
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
        return {"t": t.__name__, "v": [encode(v, buffers, handle_of, depth + 1) for v in value]}
    if t is dict or (t.__module__ == "collections" and t.__name__ == "OrderedDict"):
        items = [[encode(k, buffers, handle_of, depth + 1), encode(v, buffers, handle_of, depth + 1)]
                 for k, v in value.items()]
        return {"t": "dict", "v": items}
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


def decode(tree: Any, buffers: list[bytes], make_handle=None, *, _depth: int = 0, _budget=None) -> Any:
    """Rebuild a value from a JSON tree and raw buffers, trusting neither.

    ``make_handle(HandleRef)`` builds the judge-side proxy for a worker object.
    """
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
    rec = lambda v: decode(v, buffers, make_handle, _depth=_depth + 1, _budget=budget)  # noqa: E731
    if tag == "str":
        return _expect(tree, "v", str)
    if tag == "int":
        text = _expect(tree, "v", str)
        if len(text) > 4300 or not text.lstrip("-").isdigit():
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
    if len(shape) > 32 or any(type(d) is not int or d < 0 for d in shape):
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
