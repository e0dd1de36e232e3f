"""``torch._dynamo`` imported at its first real use, not at a notebook's first ``optimizer.step()``.

torch's optimizers touch the compiler on every call only to tell it to keep out: ``step()`` runs
``import torch._dynamo; torch._dynamo.graph_break()``, and ``zero_grad()``, ``add_param_group()``
and the like are wrapped by ``torch._disable_dynamo``, whose first call imports ``torch._dynamo``
to build the "do not compile" wrapper.  That import costs about 2.3 s, as much as ``import torch``
itself, and a char-RNN notebook pays it at its first ``Adam``: it was the largest share of a cold
``course grade one.ipynb``.

Nothing can be compiling while ``torch._dynamo`` has never been imported (``torch.compile``,
``torch.export`` and every other entry point import it first).  So, until then, a graph break is a
no-op and a "disabled" function is the function itself.  :func:`defer` installs exactly that:

- a stand-in module as ``torch._dynamo`` whose ``graph_break`` does nothing and whose every other
  attribute imports the real module (which then replaces the stand-in everywhere) and returns the
  real attribute;
- for every function torch has already wrapped with ``_disable_dynamo``, a :class:`Deferred` in
  the wrapper's cache slot: it calls the function directly while the stand-in is in place, and
  builds (and caches) the real ``torch._dynamo.disable`` wrapper once the real module is loaded.

A notebook that never compiles never pays for the compiler; one that does gets the real thing, the
same as without this module.  It is applied only in the workers' fork server (see
:mod:`autograder.forkserver`); the shape of ``_disable_dynamo`` it relies on is checked, and if it
does not match (another torch), nothing is changed.
"""

from __future__ import annotations

import gc
import importlib
import sys
import types

NAME = "torch._dynamo"


class StandIn(types.ModuleType):
    """``torch._dynamo`` before anything has needed the real one."""

    def __init__(self):
        super().__init__(NAME, "A stand-in: the real torch._dynamo is imported at its first real use.")
        self.graph_break = graph_break

    def __getattr__(self, name: str):
        # dunder lookups (inspect.getmodule asks every module for __file__; copy and pickle probe for
        # __reduce__ and friends) are answered "absent", as by a built-in module; only importing from
        # it (a submodule needs __path__, a star import __all__) needs the real module
        if name.startswith("__") and name not in ("__path__", "__all__"):
            raise AttributeError(name)
        return getattr(load(), name)


def graph_break(msg: str = "") -> None:
    """Outside a compiled region (the only place there is before torch._dynamo loads) a no-op."""


def load() -> types.ModuleType:
    """The real ``torch._dynamo``, imported now if it was still deferred."""
    if isinstance(sys.modules.get(NAME), StandIn):
        del sys.modules[NAME]
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(torch.__dict__.get("_dynamo"), StandIn):
        del torch._dynamo
    return importlib.import_module(NAME)


def loaded() -> bool:
    """Whether the real ``torch._dynamo`` is in (a stand-in does not count)."""
    module = sys.modules.get(NAME)
    return module is not None and not isinstance(module, StandIn)


class Deferred:
    """The cached "disabled" version of ``fn``, built only once the real compiler is there."""

    __slots__ = ("fn", "recursive")

    def __init__(self, fn, recursive: bool):
        self.fn = fn
        self.recursive = recursive

    def __call__(self, *args, **kwargs):
        if not loaded():
            return self.fn(*args, **kwargs)
        real = sys.modules[NAME].disable(self.fn, self.recursive, wrapping=False)
        setattr(self.fn, "__dynamo_disable", real)      # the slot torch's wrapper reads on each call
        return real(*args, **kwargs)


def _wrapped_functions(torch) -> list[tuple[object, bool]]:
    """(function, recursive) for every function torch wrapped with ``_disable_dynamo`` so far."""
    code = torch._compile._disable_dynamo(lambda: None).__code__
    if set(code.co_freevars) != {"fn", "recursive"} or "__dynamo_disable" not in code.co_consts + code.co_names:
        return []                                       # not the torch this was written for
    found = []
    for obj in gc.get_objects():
        if type(obj) is types.FunctionType and obj.__code__ is code:
            cells = dict(zip(code.co_freevars, obj.__closure__))
            found.append((cells["fn"].cell_contents, bool(cells["recursive"].cell_contents)))
    return found


def defer() -> bool:
    """Put the stand-in in place (torch imported, torch._dynamo not yet). True if it was installed."""
    torch = sys.modules.get("torch")
    if torch is None or NAME in sys.modules or not hasattr(torch, "_compile"):
        return False
    wrapped = _wrapped_functions(torch)
    if not wrapped:
        return False
    for fn, recursive in wrapped:
        if getattr(fn, "__dynamo_disable", None) is None:
            setattr(fn, "__dynamo_disable", Deferred(fn, recursive))
    stand_in = StandIn()
    sys.modules[NAME] = stand_in
    torch._dynamo = stand_in
    return True
