"""The judge's side of the stand-ins (:mod:`autograder.remote`): references that the worker calls back.

A grader that judges blank B with the reference of blank A in A's place (or hands the student's ``train``
the book's ``Model``) registers the reference with its submission (``Submission.stub``,
``Submission.remote_module``, ``Submission.overriding``); the worker gets a stand-in that holds only a number.
When student code calls the stand-in, the worker sends a callback, and :meth:`Function.invoke` or
:meth:`Module.invoke` computes the answer here, on the arguments as plain data (or as handles to the worker's
objects, which the reference may call: a request made while the callback is answered). Where autograd will
ask for gradients, :func:`forward` keeps the judge's graph and :meth:`Graph.backward` answers the backward
pass the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from autograder import protocol


@dataclass
class Function:
    """A reference function. ``by_handle``: it gets the worker's tensors as handles (it changes them in place,
    as a ``numerical_grad`` nudges θ), not as copies."""

    fn: object
    name: str = "reference"
    by_handle: bool = False

    def invoke(self, method: str, state: dict, args: list, kwargs: dict, training=None):
        if method != "__call__" or state:
            raise AttributeError(f"{self.name} has no method {method!r}")
        return self.fn(*args, **kwargs)


@dataclass
class Module:
    """A reference module: its parameters and buffers travel with each call (the worker's copy is the one an
    optimizer updates); ``forward`` and ``methods`` are computed with the judge's code on them."""

    module: torch.nn.Module
    methods: tuple = ()
    name: str = ""

    def invoke(self, method: str, state: dict, args: list, kwargs: dict, training=None):
        names = dict(self.module.named_parameters()).keys() | dict(self.module.named_buffers()).keys()
        if set(state) != names or not all(protocol.is_tensor(v) for v in state.values()):
            raise ValueError(f"{self.name or 'the module'}: its parameters were replaced or removed")
        if training is not None:
            self.module.train(training)
        if method != "forward" and method not in self.methods:
            raise AttributeError(f"{self.name or 'the module'} has no method {method!r}")
        # with these tensors in the place of the module's own, which stay as they are (and autograd sees them)
        call = _Method(self.module, method)
        return torch.func.functional_call(call, {f"module.{k}": v for k, v in state.items()}, tuple(args), kwargs)

    def spec(self) -> dict:
        """How the worker builds its stand-in: the module tree with each module's plain attributes, the
        parameters and buffers, the methods besides forward."""
        plain = (bool, int, float, str, type(None))
        modules = {path: {k: v for k, v in vars(m).items() if not k.startswith("_") and k != "training"
                          and type(v) in plain}
                   for path, m in self.module.named_modules()}
        return {"name": self.name or type(self.module).__name__, "modules": modules,
                "parameters": {k: v.detach().clone() for k, v in self.module.named_parameters()},
                "buffers": {k: v.detach().clone() for k, v in self.module.named_buffers()},
                "methods": list(self.methods)}


class _Method(torch.nn.Module):
    """``module.<method>`` as a module's forward, for ``functional_call``."""

    def __init__(self, module: torch.nn.Module, method: str):
        super().__init__()
        self.module, self.method = module, method

    def forward(self, *args, **kwargs):
        return getattr(self.module, self.method)(*args, **kwargs)


@dataclass
class Graph:
    """A forward pass computed for a stand-in, kept for autograd's backward pass."""

    inputs: list                      # every tensor of the callback's inputs, in protocol.tensors_in's order
    outputs: list                     # the tensors of the value, in the same order
    wanted: list = field(default_factory=list)     # indices of the inputs that take a gradient

    def backward(self, grads) -> list:
        """The gradients of the inputs (None where an input takes none), given those of the outputs."""
        if type(grads) is not list or len(grads) != len(self.outputs) or not all(
                protocol.is_tensor(g) and g.shape == o.shape for g, o in zip(grads, self.outputs)):
            raise ValueError("the gradients of the outputs do not match the outputs")
        pairs = [(o, g.to(o.dtype)) for o, g in zip(self.outputs, grads) if o.requires_grad]
        given = [None] * len(self.inputs)
        if not pairs or not self.wanted:
            return given
        found = torch.autograd.grad([o for o, _ in pairs], [self.inputs[i] for i in self.wanted],
                                    grad_outputs=[g for _, g in pairs], allow_unused=True)
        for index, grad in zip(self.wanted, found):
            given[index] = grad
        return given


def forward(reference, method: str, inputs: list, training=None):
    """``reference``'s answer to a callback, computed with autograd on: the value, and the graph that a
    backward pass goes through."""
    tensors = protocol.tensors_in(inputs)
    wanted = [i for i, t in enumerate(tensors) if t.is_floating_point() or t.is_complex()]
    for i in wanted:
        tensors[i].requires_grad_(True)
    with torch.enable_grad():
        value = reference.invoke(method, *inputs, training=training)
    return value, Graph(tensors, protocol.tensors_in(value), wanted)
