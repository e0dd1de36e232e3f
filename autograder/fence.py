"""A call that must compute a gradient by hand, with autograd off for its whole length (worker side).

``torch.set_grad_enabled(False)`` around the call is not enough: a ``with torch.enable_grad():`` inside
the student's function turns autograd back on, and ``loss.backward()`` computes the gradient the blank
asks to be derived by hand. So for the call the worker switches grad mode off at the switch every
context manager goes through (``torch._C._set_grad_enabled``, kept off), and makes the entry points of
autograd and of torch.func raise. Everything is put back afterwards, whatever the call did.

A notebook that set out to get around the fence could (it runs in the worker); the fence is there for the
honest mistake of reaching for autograd where the chapter derives BPTT by hand.
"""

from __future__ import annotations

import contextlib
import sys

# (module path, attribute) of every way into autograd a notebook may reach for
ENTRY_POINTS = [("torch.autograd", "grad"), ("torch.autograd", "backward"), ("torch.Tensor", "backward"),
                ("torch.autograd.functional", "jacobian"), ("torch.autograd.functional", "vjp"),
                ("torch.func", "grad"), ("torch.func", "grad_and_value"), ("torch.func", "vjp"),
                ("torch.func", "jacrev"), ("torch.func", "jacfwd")]


class AutogradOff(RuntimeError):
    """Raised by autograd's entry points inside a fenced call."""


def _refuse(*args, **kwargs):
    raise AutogradOff("autograd is switched off for this call: compute the gradient by hand")


def _resolve(path: str):
    torch = sys.modules.get("torch")
    obj = torch
    for part in path.split(".")[1:]:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


@contextlib.contextmanager
def autograd_off():
    """Autograd off, and kept off, for the block (nothing happens where torch was never imported)."""
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    switch = torch._C._set_grad_enabled
    saved = []
    for path, name in ENTRY_POINTS:
        owner = _resolve(path)
        if owner is not None and hasattr(owner, name):
            saved.append((owner, name, getattr(owner, name)))
            setattr(owner, name, _refuse)
    # inference_mode(False) turns grad mode on in C++, past the switch: for the call it is no_grad
    for owner in (torch, torch.autograd, getattr(torch.autograd, "grad_mode", None)):
        if owner is not None and hasattr(owner, "inference_mode"):
            saved.append((owner, "inference_mode", owner.inference_mode))
            owner.inference_mode = lambda mode=True: torch.no_grad()
    previous = torch.is_grad_enabled()
    switch(False)
    torch._C._set_grad_enabled = lambda mode: switch(False)      # enable_grad() and set_grad_enabled(True)
    try:
        yield
    finally:
        torch._C._set_grad_enabled = switch
        switch(previous)
        for owner, name, value in reversed(saved):
            setattr(owner, name, value)
