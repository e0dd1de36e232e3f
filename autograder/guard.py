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
from builtins import bool, dict, enumerate, id, isinstance, len, list, zip  # noqa: A004

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
        try:
            if torch is not None and isinstance(value, torch.Tensor):
                self.seen.add(id(value))
                self.items.append((path, "tensor", value, value.detach().clone()))
            elif np is not None and isinstance(value, np.ndarray):
                self.seen.add(id(value))
                self.items.append((path, "array", value, value.copy()))
            elif _is_module(value):
                self.seen.add(id(value))
                prefix = "" if path == "self" else f"{path}."
                # which tensors it holds (a parameter replaced is a change too), then what they hold; a
                # module's own forward may update its buffers (batch norm), a module handed in may not
                buffers = path != "self"
                held = _held(value, buffers)
                self.items.append((path, "module", value, (buffers, [(name, id(t)) for name, t in held])))
                for name, tensor in held:
                    self.take(tensor, f"{prefix}{name}", depth + 1)
            elif isinstance(value, (list, dict)):
                self.seen.add(id(value))
                pairs = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
                self.items.append((path, "dict" if isinstance(value, dict) else "list", value,
                                   [item for _, item in pairs] if isinstance(value, list) else pairs))
                for key, item in pairs:
                    self.take(item, f"{path}[{key!r}]", depth + 1)
            elif isinstance(value, tuple):
                for index, item in enumerate(value):
                    self.take(item, f"{path}[{index}]", depth + 1)
        except Exception:       # noqa: BLE001 (what cannot be copied, a lazy parameter say, is not compared)
            pass

    def changed(self) -> list[str]:
        """The paths of what no longer equals its copy, in argument order."""
        out = []
        for path, kind, value, copy in self.items:
            try:
                same = _same(kind, value, copy)
                if not same and kind == "module":     # name the tensors it holds that were replaced or removed
                    now = dict((name, id(t)) for name, t in _held(value, copy[0]))
                    prefix = "" if path == "self" else f"{path}."
                    names = [name for name, held in copy[1] if now.get(name) != held] or [""]
                    for name in names:
                        out.append(f"{prefix}{name}" if name else path)
                    continue
            except Exception:   # noqa: BLE001 (what cannot be compared, a sparse tensor say, counts as unchanged)
                same = True
            if not same and path not in out:
                out.append(path)
        return list(dict.fromkeys(out))

    def restore(self) -> None:
        """Put back what changed (the copies hold it), so that an object a grader keeps is not left corrupted."""
        torch = sys.modules.get("torch")
        for path, kind, value, copy in self.items:
            try:
                if _same(kind, value, copy):
                    continue
                if kind == "tensor":
                    with torch.no_grad():
                        value.copy_(copy)
                elif kind == "array":
                    value[...] = copy
                elif kind == "list":
                    value[:] = copy
                elif kind == "dict":
                    value.clear()
                    value.update(copy)
            except Exception:   # noqa: BLE001 (a shape changed, say: nothing more to do than to say so)
                pass


def _same(kind: str, value, copy) -> bool:
    torch, np = sys.modules.get("torch"), sys.modules.get("numpy")
    if kind == "tensor":
        if value.shape != copy.shape or value.dtype != copy.dtype or value.device != copy.device:
            return False
        now = value.detach()
        if torch.equal(now, copy):
            return True
        if now.is_floating_point() or now.is_complex():            # NaN stays NaN: unchanged
            both = torch.isnan(now) & torch.isnan(copy)
            return bool(torch.equal(now[~both], copy[~both]))
        return False
    if kind == "array":
        return value.shape == copy.shape and value.dtype == copy.dtype and \
            bool(np.array_equal(value, copy, equal_nan=value.dtype.kind in "fc"))
    if kind == "module":
        buffers, ids = copy
        return [(name, id(t)) for name, t in _held(value, buffers)] == ids
    if kind == "dict":
        now = list(value.items())
        return len(now) == len(copy) and all(k1 is k2 and v1 is v2 for (k1, v1), (k2, v2) in zip(now, copy))
    return len(value) == len(copy) and all(a is b for a, b in zip(value, copy))


def call(target, args, kwargs, exempt=()):
    """``target(*args, **kwargs)``, raising :class:`ArgumentChanged` where it changed what it was given."""
    snapshot = Snapshot(target, args, kwargs, exempt)
    value = target(*args, **kwargs)
    changed = snapshot.changed()
    if changed:
        snapshot.restore()
        raise ArgumentChanged(", ".join(changed))
    return value


def _held(module, buffers: bool) -> list:
    """A module's parameters (and buffers), by name."""
    return list(module.named_parameters()) + (list(module.named_buffers()) if buffers else [])


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
