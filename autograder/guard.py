"""What a call into student code may not change: its arguments (worker side).

``nn.LSTM`` never changes its inputs, and neither may a student's function: a cell that accumulates into
``c_prev`` in place, or a ``params_from_torch`` whose ``b += ...`` runs on a detached view of the
module's bias, returns the right values and silently corrupts the caller's data (the notebook's next
cell breaks, not the grader). So before a call the worker takes a :class:`Snapshot` of every tensor,
array, list and dict reachable from the arguments (a module: its parameters) and of the called
module itself; after the call, :meth:`Snapshot.changed` names what differs.

The comparison is exact (``torch.equal``): a copy compared with its own original on one machine, never
values from two processors. Objects the grader expects to change (the model passed to ``train``) are
left out by identity. This runs in the worker, so a hostile notebook can fool it; what it can gain is
hiding its own bug, and the values it returns are judged by the judge all the same.
"""

from __future__ import annotations

import inspect
import sys
# bound now: a notebook that rebinds builtins.isinstance cannot change what the comparison does
from builtins import bool, enumerate, id, isinstance, len, list, type, zip  # noqa: A004

MAX_DEPTH = 4            # layers = [(W_ih, W_hh, b_ih, b_hh), ...] is two levels below the argument
MAX_ITEMS = 10_000       # a very long list is compared by identity only at its top level


class ArgumentChanged(Exception):
    """A call changed what it was given; the message names it (``h0``, ``params['b_h']``, ``rnn.bias_ih_l0``)."""


class Snapshot:
    """Copies of what a call must leave as it was, each with the path that names it."""

    def __init__(self, target, args, kwargs, exempt=()):
        self.exempt = {id(e) for e in exempt}
        self.items: list[tuple[str, str, object, object]] = []    # (path, kind, object, copy)
        self.seen: set[int] = set()
        self.count = 0
        for name, value in _named(target, args, kwargs):
            self.take(value, name, 0)
        owner = getattr(target, "__self__", target)               # a bound method's module, or the module
        if _is_module(owner) and id(owner) not in self.exempt:
            self.take(owner, "self", 0)

    def take(self, value, path: str, depth: int) -> None:
        if id(value) in self.exempt or id(value) in self.seen or depth > MAX_DEPTH or self.count > MAX_ITEMS:
            return
        torch, np = sys.modules.get("torch"), sys.modules.get("numpy")
        self.count += 1
        if torch is not None and isinstance(value, torch.Tensor):
            self.seen.add(id(value))
            self.items.append((path, "tensor", value, value.detach().clone()))
        elif np is not None and isinstance(value, np.ndarray):
            self.seen.add(id(value))
            self.items.append((path, "array", value, value.copy()))
        elif _is_module(value):
            self.seen.add(id(value))
            for name, parameter in value.named_parameters():
                self.items.append((f"{path}.{name}" if path != "self" else name, "tensor", parameter,
                                   parameter.detach().clone()))
        elif type(value) in (list, dict):
            self.seen.add(id(value))
            self.items.append((path, type(value).__name__, value, list(value.items()) if type(value) is dict
                               else list(value)))
            pairs = value.items() if type(value) is dict else enumerate(value)
            for key, item in pairs:
                self.take(item, f"{path}[{key!r}]", depth + 1)
        elif type(value) is tuple:
            for index, item in enumerate(value):
                self.take(item, f"{path}[{index}]", depth + 1)

    def changed(self) -> list[str]:
        """The paths of what no longer equals its copy, in argument order."""
        torch, np = sys.modules.get("torch"), sys.modules.get("numpy")
        out = []
        for path, kind, value, copy in self.items:
            if kind == "tensor":
                same = (value.shape == copy.shape and value.dtype == copy.dtype
                        and bool(torch.equal(value.detach(), copy)))
                if not same and value.shape == copy.shape and value.dtype == copy.dtype and value.is_floating_point():
                    both_nan = torch.isnan(value.detach()) & torch.isnan(copy)     # NaN stays NaN: unchanged
                    same = bool(torch.equal(value.detach()[~both_nan], copy[~both_nan]))
            elif kind == "array":
                same = value.shape == copy.shape and value.dtype == copy.dtype and \
                    bool(np.array_equal(value, copy, equal_nan=value.dtype.kind in "fc"))
            elif kind == "dict":
                now = list(value.items())
                same = len(now) == len(copy) and all(k1 == k2 and v1 is v2 for (k1, v1), (k2, v2) in zip(now, copy))
            else:
                same = len(value) == len(copy) and all(a is b for a, b in zip(value, copy))
            if not same and path not in out:
                out.append(path)
        return out


def call(target, args, kwargs, exempt=()):
    """``target(*args, **kwargs)``, raising :class:`ArgumentChanged` where it changed what it was given."""
    snapshot = Snapshot(target, args, kwargs, exempt)
    value = target(*args, **kwargs)
    changed = snapshot.changed()
    if changed:
        raise ArgumentChanged(", ".join(changed))
    return value


def _is_module(value) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.nn.Module)


def _named(target, args, kwargs):
    """(parameter name, value) for each argument: the names of the function's own signature where it has
    one (``h_prev``), else "argument 2"."""
    try:
        bound = inspect.signature(target).bind(*args, **kwargs)
    except Exception:       # noqa: BLE001 (no signature, or one that does not take these arguments)
        return [(f"argument {i + 1}", a) for i, a in enumerate(args)] + list(kwargs.items())
    out = []
    for name, value in bound.arguments.items():
        kind = bound.signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            out += [(f"{name}[{i}]", v) for i, v in enumerate(value)]
        elif kind is inspect.Parameter.VAR_KEYWORD:
            out += list(value.items())
        else:
            out.append((name, value))
    return out
