"""What a grader uses: failing with a catalogued message, and checks that compare plain data.

Everything here runs in the judge, on values the protocol rebuilt, so a comparison can never be
fooled by a student's ``__eq__``: a value is first brought to a numpy array or a Python scalar of the
judge's own making, then compared.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autograder.messages import Message, msg
from autograder.submission import Handle


class Fail(AssertionError):
    """A grader's verdict: the submission does not do what the test asks. Its message (a
    :class:`~autograder.messages.Message`) is for the student, rendered where the outcome is recorded."""

    def __init__(self, message: Message):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message.render()


def fail(key: str, **fields) -> None:
    raise Fail(msg(key, **fields))


def check(condition: bool, key: str, **fields) -> None:
    if not condition:
        fail(key, **fields)


def kind_of(value: Any) -> str:
    """A short name of what came back, for messages."""
    if isinstance(value, Handle):
        return value.kind
    if isinstance(value, np.ndarray):
        return f"np.ndarray {value.dtype}"
    torch = _torch()
    if torch is not None and isinstance(value, torch.Tensor):
        return f"torch.Tensor {str(value.dtype).removeprefix('torch.')}"
    return type(value).__name__


def _torch():
    import sys
    return sys.modules.get("torch")


def to_array(value: Any, what: str, expected: str = "np.ndarray") -> np.ndarray:
    """An ndarray or tensor that came back, as a numpy array (tensors are accepted and converted)."""
    torch = _torch()
    if isinstance(value, np.ndarray):
        return value
    if torch is not None and isinstance(value, torch.Tensor):
        return value.detach().to(torch.float64 if value.dtype == torch.bfloat16 else value.dtype).numpy()
    fail("wrong_type", what=what, expected=expected, got=kind_of(value))


def expect_shape(value: Any, shape: tuple, what: str) -> None:
    got = tuple(getattr(value, "shape", ()))
    check(got == tuple(shape), "wrong_shape", what=what, expected=tuple(shape), got=got)


def is_float(value: Any) -> bool:
    return type(value) is float and math.isfinite(value)

