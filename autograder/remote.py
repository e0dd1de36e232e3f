"""Stand-ins for the judge's code in the worker: no answer to a blank ever exists in a worker (worker side).

To judge blank B alone, B runs with the references of the blanks it calls (a correct ``elman_cell`` under
the student's ``elman_forward``, the book's ``Model`` under the student's ``train``). Those references are
answers, and a worker is the student's: anything defined in it, a notebook can find (``gc``, frames, caches)
and keep. So the references stay in the judge, and the worker gets a *stand-in*:

- :class:`Stub`, a callable: calling it sends the judge a callback with the arguments as plain data (or
  handles, where the reference must reach the worker's objects, as ``numerical_grad`` calls ``f``), serves
  the judge's requests while the reference runs, and returns what the judge answers;
- :class:`RemoteModule`, an ``nn.Module`` with real parameters (an optimizer updates them, a guard compares
  them) whose methods are callbacks: ``forward`` gets the module's parameters and buffers with its arguments,
  and where autograd asks, the judge computes the backward pass too (:class:`_Attach`).

A stand-in holds only a number. The judge answers a number only while the grader that made it runs:
kept past its grader, a stand-in answers nothing.
"""

from __future__ import annotations

import sys
# bound now: student code may replace the builtins, and a stand-in must keep working
from builtins import dict, enumerate, isinstance, len, list, tuple, type  # noqa: A004

from autograder import protocol

# the exceptions a reference's refusal comes back as, by name; any other is a RuntimeError
EXCEPTIONS = {cls.__name__: cls for cls in (
    ArithmeticError, AssertionError, AttributeError, IndexError, KeyError, LookupError, NotImplementedError,
    OverflowError, RuntimeError, TypeError, ValueError, ZeroDivisionError)}


class Stub:
    """A reference of the judge's, standing in the worker as a function (see the module's docstring)."""

    __slots__ = ("_channel", "_id", "_by_handle", "__name__", "__qualname__")

    def __init__(self, channel, number: int, name: str, by_handle: bool = False):
        self._channel, self._id, self._by_handle = channel, number, by_handle
        self.__name__ = self.__qualname__ = name

    def __call__(self, *args, **kwargs):
        return self._channel.remote_call(self._id, "__call__", args, kwargs, by_handle=self._by_handle)

    def __repr__(self) -> str:
        return f"<reference {self.__name__}>"


def remote_module(channel, number: int, spec: dict):
    """A :class:`RemoteModule` as ``spec`` describes it (see ``Submission.remote_module``)."""
    import torch

    class RemoteModule(torch.nn.Module):
        """A module of the judge's: its parameters and buffers here, its methods computed there."""

        def __init__(self):
            super().__init__()
            for path, attributes in spec["modules"].items():     # the judge's module tree, parents first
                owner = self._owner(path)
                for name, value in attributes.items():
                    object.__setattr__(owner, name, value)      # (plain data: hidden_size, num_layers, ...)
            for name, value in spec["parameters"].items():
                owner, _, leaf = self._leaf(name)
                owner.register_parameter(leaf, torch.nn.Parameter(value))
            for name, value in spec["buffers"].items():
                owner, _, leaf = self._leaf(name)
                owner.register_buffer(leaf, value)

        def _owner(self, path: str):
            owner = self
            for part in [p for p in path.split(".") if p]:
                if part not in owner._modules:
                    owner.add_module(part, torch.nn.Module())
                owner = owner._modules[part]
            return owner

        def _leaf(self, name: str):
            path, _, leaf = name.rpartition(".")
            return self._owner(path), path, leaf

        def _call(self, method: str, args, kwargs):
            state = {**dict(self.named_parameters()), **dict(self.named_buffers())}
            return channel.remote_call(number, method, args, kwargs, state=state, training=self.training)

        def forward(self, *args, **kwargs):
            return self._call("forward", args, kwargs)

    for method in spec["methods"]:
        setattr(RemoteModule, method, lambda self, *a, _method=method, **k: self._call(_method, a, k))
    RemoteModule.__name__ = RemoteModule.__qualname__ = spec["name"]
    return RemoteModule()


def device_of(value):
    """The device of the first tensor in ``value`` (nested lists, tuples, dicts), or None."""
    found = protocol.tensors_in(value)
    return found[0].device if found else None


def moved(value, device):
    """``value`` with every tensor in it moved to ``device`` (the judge computes on the CPU)."""
    if device is None or device.type == "cpu":
        return value
    if protocol.is_tensor(value):
        return value.to(device)
    if type(value) in (list, tuple):
        return type(value)(moved(v, device) for v in value)
    if type(value) is dict:
        return {k: moved(v, device) for k, v in value.items()}
    return value


def replaced(value, tensors: list, start: int = 0):
    """``value`` with its tensors, in :func:`protocol.tensors_in`'s order, replaced by ``tensors``; and the
    index after the last one used."""
    if protocol.is_tensor(value):
        return tensors[start], start + 1
    if type(value) in (list, tuple):
        items = []
        for item in value:
            item, start = replaced(item, tensors, start)
            items.append(item)
        return type(value)(items), start
    if type(value) is dict:
        out = {}
        for key, item in value.items():
            out[key], start = replaced(item, tensors, start)
        return out, start
    return value, start


def exception(failure: protocol.Failure) -> BaseException:
    """What a reference's refusal raises in student code: the judge's exception, by its name."""
    return EXCEPTIONS.get(failure.type, RuntimeError)(failure.message)


def attach(channel, call: int, inputs: list, outputs: list) -> list:
    """``outputs`` (computed by the judge for callback ``call``) made part of autograd's graph over ``inputs``:
    their backward pass is the judge's, through a :class:`Backward` callback."""
    return list(_attach().apply({"channel": channel, "call": call, "outputs": outputs, "count": len(inputs)},
                                *inputs))


_ATTACH = []


def _attach():
    """The autograd Function, made once torch is there (the worker module imports without it)."""
    if _ATTACH:
        return _ATTACH[0]
    import torch

    class Attach(torch.autograd.Function):
        @staticmethod
        def forward(ctx, meta, *inputs):
            ctx.meta = meta
            return tuple(meta["outputs"])

        @staticmethod
        def backward(ctx, *grads):
            meta = ctx.meta
            given = meta["channel"].backward(meta["call"], list(grads))
            if type(given) is not list or len(given) != meta["count"]:
                raise RuntimeError("the reference's backward pass gave no gradient for each input")
            return (None, *given)

    _ATTACH.append(Attach)
    return Attach


def torch_grad_wanted(tensors: list) -> bool:
    """Whether autograd records a computation on ``tensors`` now."""
    torch = sys.modules.get("torch")
    return torch is not None and torch.is_grad_enabled() and any(t.requires_grad for t in tensors)
