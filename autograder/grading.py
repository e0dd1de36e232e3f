"""What a grader uses: failing with a catalogued message, and checks that compare plain data.

Everything here runs in the judge, on values the protocol rebuilt, so a comparison can never be
fooled by a student's ``__eq__``: a value is first brought to a numpy array or a Python scalar of the
judge's own making, then compared.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autograder.messages import say
from autograder.submission import Handle


class Fail(AssertionError):
    """A grader's verdict: the submission does not do what the test asks. The message is for the student."""


def fail(key: str, **fields) -> None:
    raise Fail(say(key, **fields))


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


def expect_close(got: Any, expected: Any, what: str, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """Shapes first, then values: |got - expected| <= atol + rtol * |expected| everywhere."""
    got = to_array(got, what)
    expected = np.asarray(to_array(expected, what), dtype=np.float64)
    expect_shape(got, expected.shape, what)
    got = got.astype(np.float64)
    if not np.all(np.isfinite(got)):
        fail("expected_got", what=what, expected="finite numbers", got="NaN or inf")
    error = np.abs(got - expected)
    tolerance = atol + rtol * np.abs(expected)
    if np.any(error > tolerance):
        fail("wrong_values", what=what, error=float(error.max()), tolerance=max(atol, rtol))


def is_float(value: Any) -> bool:
    return type(value) is float and math.isfinite(value)


def first_failure(attempts):
    """Run ``attempts`` (callables that raise Fail or return) until one passes; re-raise the first failure.

    A grader that trains a network under several seeds passes if any seed passes: a correct solution
    must not fail for an unlucky seed, and a wrong one fails under all of them.
    """
    first = None
    for attempt in attempts:
        try:
            attempt()
            return
        except Fail as exc:
            first = first or exc
    raise first
